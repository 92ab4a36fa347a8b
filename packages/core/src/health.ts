import type { AuditErrorCode } from './errors.js';

export type AuditStatus = 'starting' | 'ready' | 'not_ready' | 'closing' | 'closed' | 'disabled';

export interface HealthReason {
  readonly code: AuditErrorCode;
  readonly message: string;
}

/** What adapters put on /readyz. `ready` is the only field a probe needs; the rest says why. */
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
  readonly profile: 'micronode';
  readonly key: string;
}
