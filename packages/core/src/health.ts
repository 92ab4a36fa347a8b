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
  /**
   * With worker lanes (AUDIT_WORKERS > 0): each lane's log. `log` then sums sizes over the lanes
   * (its origin is the base origin, which names no log) and gives the oldest lane's checkpoint age.
   */
  readonly lanes?: readonly LaneHealth[];
}

export interface LaneHealth {
  readonly index: number;
  /** The lane's log identity: `<AUDIT_ORIGIN>/lane-<index>`. */
  readonly origin: string;
  readonly status: AuditStatus;
  readonly size: number;
  readonly checkpointSize: number;
  readonly checkpointAgeMs: number | null;
  /** Records sent to the lane and not yet appended. */
  readonly inFlight: number;
}
