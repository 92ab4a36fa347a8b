import { isAuditError, type Admission, type AuditError } from '@ron-audit/core';

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

/**
 * The 503 of a held write (option `durable`) whose record could not be made durable: the WAL
 * failed or is degraded, so the record is in memory only. Unlike AuditRefusedError, the handler
 * has run and its effects stand; the answer tells the client that they are not provably audited.
 * A Fastify error too, so the host's setErrorHandler sees it; Fastify's default handler answers
 * {statusCode: 503, code: 'AUDIT_NOT_DURABLE', error: 'Service Unavailable', message}.
 */
export class AuditNotDurableError extends Error {
  readonly statusCode = 503;
  readonly code = 'AUDIT_NOT_DURABLE';
  /** The record that was written (in memory) for the response this error replaces. */
  readonly recordId: string;
  readonly retryAfterSeconds: number;
  readonly headers: { readonly 'retry-after': string };

  constructor(recordId: string, retryAfterSeconds: number, cause: unknown) {
    const reason = isAuditError(cause) ? cause.code : 'AUDIT_NOT_DURABLE';
    super(`The request was processed, but its audit record could not be made durable (${reason}): its effects are not provably audited. Check its outcome before retrying.`, { cause });
    this.name = 'AuditNotDurableError';
    this.recordId = recordId;
    this.retryAfterSeconds = retryAfterSeconds;
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}
