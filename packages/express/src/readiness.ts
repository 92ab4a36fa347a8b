import { AuditError, type AuditEngine, type HealthReason } from '@ron-audit/core';

/**
 * Readiness as the host's probes see it: the engine's health, plus "shutting down" from the
 * moment auditor.close() is called (the engine may belong to the host and still be open).
 */

export interface Readiness {
  readonly ready: boolean;
  readonly reasons: readonly HealthReason[];
}

export function readinessOf(engine: AuditEngine, closing: boolean): Readiness {
  const h = engine.health();
  const reasons = [...h.reasons];
  if (closing && !reasons.some((r) => r.code === 'AUDIT_CLOSED')) reasons.push({ code: 'AUDIT_CLOSED', message: 'audit is shutting down' });
  if (!h.ready && reasons.length === 0) reasons.push({ code: 'AUDIT_NOT_READY', message: `audit engine is ${h.status}` });
  return { ready: h.ready && !closing, reasons };
}

export function readinessBody(r: Readiness): { status: 'ready' | 'not_ready'; reasons?: readonly HealthReason[] } {
  return r.ready ? { status: 'ready' } : { status: 'not_ready', reasons: r.reasons };
}

/**
 * What auditor.healthCheck() rejects with. `statusCode` 503 makes Express 5's default error
 * handling answer 503 when it is awaited in a host's own /readyz handler.
 */
export class AuditNotReadyError extends AuditError {
  readonly statusCode = 503;
  readonly reasons: readonly HealthReason[];

  constructor(reasons: readonly HealthReason[]) {
    const first = reasons[0];
    super(first?.code ?? 'AUDIT_NOT_READY', `audit is not ready: ${reasons.map((r) => `${r.code}: ${r.message}`).join('; ') || 'unknown'}`, { reasons });
    this.name = 'AuditNotReadyError';
    this.reasons = reasons;
  }
}
