/**
 * The one catalogue of error codes. Codes are stable API: hosts match on `err.code`, adapters map
 * some of them to HTTP answers, and docs/errors.md lists exactly these (a test keeps the two in sync).
 */
export const ERROR_CODES = {
  AUDIT_CONFIG_INVALID: 'A configuration value (option or AUDIT_* variable) is invalid; the message names it, the value and what is allowed.',
  AUDIT_INVALID_ARGUMENT: 'A public function was called with an argument of the wrong type, size or shape.',
  AUDIT_INVALID_EVENT: 'An emitted event does not match the record schema; the message names the field.',
  AUDIT_RECORD_TOO_LARGE: 'The canonical record would exceed MAX_RECORD_BYTES (65535 bytes).',
  AUDIT_NOT_CANONICAL: 'A value cannot be represented in RFC 8785 canonical JSON (NaN, Infinity, lone surrogate, cycle, unsupported type), or bytes are not in canonical form.',
  AUDIT_QUEUE_FULL: 'The bounded audit queue is full (reserved + pending = AUDIT_QUEUE_DEPTH); the record was shed and counted.',
  AUDIT_SATURATED: 'HTTP answer of the adapters (503 + Retry-After) when admission is refused because the audit queue is full.',
  AUDIT_NOT_READY: 'The engine cannot accept records now (still recovering its WAL at start-up, key unavailable, failed start); health() says why.',
  AUDIT_CLOSED: 'The engine has been closed (or is closing) and accepts no new records.',
  AUDIT_DISABLED: 'Auditing is switched off (AUDIT_ENABLED=false); nothing is recorded.',
  AUDIT_KEY_UNAVAILABLE: 'The signing key for AUDIT_KEY_ID is missing or unreadable in the keystore.',
  AUDIT_KEY_INVALID: 'A key file, public key or verifier key string is malformed.',
  AUDIT_NOTE_MALFORMED: 'A signed note does not follow the C2SP signed-note syntax.',
  AUDIT_CHECKPOINT_MALFORMED: 'A checkpoint text does not follow the C2SP tlog-checkpoint syntax or v1 rules.',
  AUDIT_SIGNATURE_INVALID: 'A signature by a trusted key failed verification, or no trusted key signed.',
  AUDIT_PROOF_INVALID: 'A Merkle inclusion or consistency proof does not verify.',
  AUDIT_VERIFY_FAILED: 'Verification of stored records failed (chain, tree, signature or canonical form); nothing unverified is returned.',
  AUDIT_WAL_CORRUPT: 'The write-ahead log is damaged in its signed, synced part (or belongs to another log); the engine refuses to start rather than lose or rewrite signed records.',
  AUDIT_WAL_FAILED: 'Writing or syncing the write-ahead log failed (disk full, EIO, read-only); the engine degraded to amnesia for new records.',
  AUDIT_EXPORT_FAILED: 'Publishing the export failed (disk full, EIO, read-only); export stopped and the engine reports degraded.',
  AUDIT_NOT_DURABLE: 'A durable acknowledgement cannot be given: the write-ahead log is off or degraded, so the record exists only in memory.',
  AUDIT_ROLLBACK: 'The export holds a signed checkpoint larger than the recovered log: starting would roll back a signed tree size.',
  AUDIT_RANGE_UNAVAILABLE: 'The requested records are not held (evicted from the Micronode memory bound, or beyond the signed tree size).',
  AUDIT_RECEIPT_INVALID: 'A receipt (c2sp.org/tlog-proof@v1) is malformed.',
  AUDIT_PG_UNAVAILABLE: 'PostgreSQL cannot be reached or refused a statement (down, wrong URL or credentials, schema not migrated); the replica keeps its WAL and ships the backlog when it returns.',
  AUDIT_PG_DRIVER_MISSING: 'AUDIT_PG_URL is set but the optional peer dependency `pg` is not installed.',
  AUDIT_EQUIVOCATION: 'PostgreSQL already holds a different record (or chain) at a seq this log is shipping: two writers used one origin. Nothing is overwritten; shipping of this log stops.',
  AUDIT_WORKER_FAILED: 'A worker lane (AUDIT_WORKERS) stopped unexpectedly: the records it had not appended are counted in audit_drop_total{reason="worker_failed"}, their durable acknowledgements rejected, and the engine is not ready until restarted.',
  AUDIT_LANED: 'A per-log call (read, checkpoint, prove, verifierKey, snapshot) on an engine with worker lanes, where each lane is its own log; call it on engine.lanes[i].',
  AUDIT_LOG_SEALED: 'The log was sealed by a graceful shutdown (docs/format.md §14): it is finished and nothing may be appended to it.',
} as const;

export type AuditErrorCode = keyof typeof ERROR_CODES;

export interface AuditErrorDetails {
  readonly [key: string]: unknown;
}

export class AuditError extends Error {
  readonly code: AuditErrorCode;
  readonly details: AuditErrorDetails;

  constructor(code: AuditErrorCode, message: string, details: AuditErrorDetails = {}) {
    super(message);
    this.name = 'AuditError';
    this.code = code;
    this.details = details;
  }
}

export function isAuditError(err: unknown, code?: AuditErrorCode): err is AuditError {
  return err instanceof AuditError && (code === undefined || err.code === code);
}

/** Short human description of a value for error messages, never the whole value (it may be secret or huge). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  switch (typeof value) {
    case 'string':
      return value.length > 40 ? `string(${value.length})` : JSON.stringify(value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'undefined':
      return 'undefined';
    default:
      return typeof value;
  }
}

export function invalidArgument(name: string, expected: string, received: unknown): AuditError {
  return new AuditError('AUDIT_INVALID_ARGUMENT', `${name}: expected ${expected}, received ${describe(received)}`, {
    argument: name,
  });
}

export function assertBytes(name: string, value: unknown, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalidArgument(name, length === undefined ? 'Uint8Array' : `Uint8Array of ${length} bytes`, value);
  if (length !== undefined && value.length !== length) throw invalidArgument(name, `Uint8Array of ${length} bytes`, value);
}

export function assertString(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw invalidArgument(name, 'string', value);
}
