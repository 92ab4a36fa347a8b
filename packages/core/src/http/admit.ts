import type { AuditEngine, AuditSlot } from '../api.js';
import { AuditError } from '../errors.js';

/**
 * The admission decision every adapter makes at request start, before any handler runs.
 * Saturated ⇒ refuse with 503 + Retry-After (fail closed), unless `passReadsWhenSaturated` and the
 * method is safe, in which case the request runs unaudited and is counted as
 * audit_drop_total{reason="unaudited_pass"}.
 */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
export const SATURATED_CODE = 'AUDIT_SATURATED';

export interface RefusalBody {
  readonly statusCode: 503;
  readonly code: string;
  readonly error: 'Service Unavailable';
  readonly message: string;
}

export type Admission =
  | { readonly kind: 'admitted'; readonly slot: AuditSlot }
  | { readonly kind: 'pass' }
  | { readonly kind: 'refused'; readonly statusCode: 503; readonly retryAfterSeconds: number; readonly body: RefusalBody; readonly error: AuditError };

export interface AdmitOptions {
  readonly method: string;
  readonly endpoint: string;
  readonly longLived?: boolean;
  readonly passReadsWhenSaturated?: boolean;
  /** Overrides the engine's retryAfterSeconds. */
  readonly retryAfterSeconds?: number;
}

export function admit(engine: AuditEngine, o: AdmitOptions): Admission {
  if (engine.config.enabled === false) return { kind: 'pass' };
  // Decide a pass before reserving, so a passed read is counted once (unaudited_pass), not also as a busy rejection.
  if (o.passReadsWhenSaturated === true && SAFE_METHODS.has(o.method.toUpperCase()) && engine.isSaturated()) {
    engine.metrics.drops.inc({ reason: 'unaudited_pass' });
    return { kind: 'pass' };
  }
  try {
    return { kind: 'admitted', slot: engine.reserve({ endpoint: o.endpoint, longLived: o.longLived === true }) };
  } catch (err) {
    if (!(err instanceof AuditError)) throw err;
    const saturated = err.code === 'AUDIT_QUEUE_FULL';
    const retryAfterSeconds = o.retryAfterSeconds ?? engine.config.retryAfterSeconds;
    return {
      kind: 'refused',
      statusCode: 503,
      retryAfterSeconds,
      error: err,
      body: {
        statusCode: 503,
        code: saturated ? SATURATED_CODE : err.code,
        error: 'Service Unavailable',
        message: saturated ? 'The audit trail is saturated; the request was not processed. Retry later.' : `The audit trail is unavailable (${err.code}); the request was not processed.`,
      },
    };
  }
}
