import type { Admission, AuditError } from '@ron-audit/core';

type Refused = Extract<Admission, { kind: 'refused' }>;

/**
 * The 503 of a refused admission, as a Fastify error rather than a finished reply, so that the
 * host's setErrorHandler (and onError hooks) see it like any other. Fastify's default error
 * handler serializes it to exactly the core's refusal body {statusCode, code, error, message},
 * and applies `headers` (Retry-After) — a custom handler keeps the header the plugin already set
 * on the reply.
 */
export class AuditRefusedError extends Error {
  readonly statusCode = 503;
  /** 'AUDIT_SATURATED' when the queue is full; the engine's code (AUDIT_NOT_READY, AUDIT_CLOSED) otherwise. */
  readonly code: string;
  readonly retryAfterSeconds: number;
  readonly headers: { readonly 'retry-after': string };
  declare readonly cause: AuditError;

  constructor(refused: Refused) {
    super(refused.body.message, { cause: refused.error });
    this.name = 'AuditRefusedError';
    this.code = refused.body.code;
    this.retryAfterSeconds = refused.retryAfterSeconds;
    this.headers = { 'retry-after': String(refused.retryAfterSeconds) };
  }
}
