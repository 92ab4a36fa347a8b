import type { AuditErrorCode } from './errors.js';

export type AuditStatus = 'starting' | 'ready' | 'degraded' | 'not_ready' | 'closing' | 'closed' | 'disabled';

export interface HealthReason {
  readonly code: AuditErrorCode;
  readonly message: string;
}

/**
 * What adapters put on /readyz. `ready` is the only field a probe needs; the rest says why.
 * 'degraded' is ready: a failed sink must not take the host out of service (runbook §4: the host
 * keeps serving in amnesia), but reasons and audit_degraded say so.
 */
export interface AuditHealth {
  readonly ready: boolean;
  readonly status: AuditStatus;
  readonly reasons: readonly HealthReason[];
  readonly queue: { readonly occupancy: number; readonly depth: number; readonly saturated: boolean };
  readonly log: {
    readonly origin: string;
    readonly size: number;
    readonly checkpointSize: number;
    /** Milliseconds since the newest checkpoint was signed; null before the first one. */
    readonly checkpointAgeMs: number | null;
  };
  readonly profile: 'micronode' | 'macronode';
  /** Per sink: 'ok', 'degraded' (failed, running in amnesia) or 'off'. */
  readonly sinks: { readonly wal: 'ok' | 'degraded' | 'off'; readonly export: 'ok' | 'degraded' | 'off' };
  readonly key: string;
}
