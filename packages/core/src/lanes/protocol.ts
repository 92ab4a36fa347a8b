import { AuditError, ERROR_CODES, type AuditErrorCode } from '../errors.js';
import type { AuditHealth } from '../health.js';
import type { AuditOptions } from '../config.js';
import { PreparedEvent } from '../record/record.js';

/**
 * The messages between a laned engine (main thread, lanes/laned.ts) and its lane workers
 * (lanes/worker.ts). Both ends are built from the same sources in one package, so the protocol
 * is internal and unversioned. Records travel in flat arrays, batched per event-loop turn:
 * structured clone copies a flat array of strings much faster than an array of objects.
 */

/** Options a lane engine is created with: plain data (no redactor, signer or file layer). */
export type LaneOptions = Omit<AuditOptions, 'redact'>;

export interface LaneInit {
  readonly index: number;
  /** How many lanes the engine runs: every checkpoint of this lane says `lane <index>/<count>`. */
  readonly count: number;
  readonly options: LaneOptions;
}

/**
 * A flat batch: per record PLAIN, ack token (-1: none), id, time, parts, headBytes, midBytes;
 * OVERSIZE adds the full record's five. `parts` travels as a copy with a buffer of its own: a view
 * on a pooled buffer would have structured clone copy the whole pool slab.
 */
export const PLAIN = 0;
export const OVERSIZE = 1;
export const NO_ACK = -1;

/**
 * The reduced record of an oversized event is prepared on the main thread with this annotation,
 * which the lane replaces by `<full size>:<full hash>` once it knows seq and prev (format §2.1).
 * Only the exact JSON member `"ron-audit.oversize":"<marker>"` is replaced: inside a string
 * value, quotes are escaped, so a field cannot contain that member.
 */
export const OVERSIZE_MARKER = 'ron-audit-lane-pending-annotation';
const MEMBER = `"ron-audit.oversize":"${OVERSIZE_MARKER}"`;

function own(parts: Uint8Array): Uint8Array {
  return parts.byteOffset === 0 && parts.byteLength === parts.buffer.byteLength ? parts : new Uint8Array(parts);
}

export function pushPrepared(out: unknown[], p: PreparedEvent, ack: number): void {
  out.push(PLAIN, ack, p.id, p.time, own(p.parts), p.headBytes, p.midBytes);
}

export function pushOversized(out: unknown[], reduced: PreparedEvent, full: PreparedEvent, ack: number): void {
  out.push(OVERSIZE, ack, reduced.id, reduced.time, own(reduced.parts), reduced.headBytes, reduced.midBytes, full.id, full.time, own(full.parts), full.headBytes, full.midBytes);
}

/** Substitute the marker of a reduced record prepared by the main thread. */
export function completeReduced(reduced: PreparedEvent, annotation: string): PreparedEvent {
  const member = `"ron-audit.oversize":"${annotation}"`;
  const parts = { head: reduced.head, mid: reduced.mid, tail: reduced.tail };
  for (const part of ['head', 'mid', 'tail'] as const) {
    const at = parts[part].indexOf(MEMBER);
    if (at >= 0) {
      const text = parts[part];
      parts[part] = text.slice(0, at) + member + text.slice(at + MEMBER.length);
      return PreparedEvent.of(reduced.id, reduced.time, parts.head, parts.mid, parts.tail);
    }
  }
  throw new AuditError('AUDIT_INVALID_ARGUMENT', 'lane protocol: a reduced record without its annotation marker');
}

/** Read one record of a flat batch at `i`; returns it, its ack token and the next index. */
export function readPrepared(r: readonly unknown[], i: number): { p: PreparedEvent; ack: number; next: number } {
  const kind = r[i] as number;
  const ack = r[i + 1] as number;
  const base = new PreparedEvent(r[i + 2] as string, r[i + 3] as string, r[i + 4] as Uint8Array, r[i + 5] as number, r[i + 6] as number);
  if (kind === PLAIN) return { p: base, ack, next: i + 7 };
  const full = new PreparedEvent(r[i + 7] as string, r[i + 8] as string, r[i + 9] as Uint8Array, r[i + 10] as number, r[i + 11] as number);
  const reduce = (annotation: string): PreparedEvent => completeReduced(base, annotation);
  return { p: reduce(`${full.partsBytes}:pending`).withOversizeOf({ full, reduce }), ack, next: i + 12 };
}

/** An error as plain data, and back as the typed error it was (other errors keep their message). */
export interface WireError {
  readonly code: string | undefined;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;
}

export function toWire(err: unknown): WireError {
  if (err instanceof AuditError) return { code: err.code, message: err.message, details: plain(err.details) };
  return { code: undefined, message: err instanceof Error ? err.message : String(err), details: undefined };
}

export function fromWire(w: WireError): Error {
  if (w.code !== undefined && w.code in ERROR_CODES) return new AuditError(w.code as AuditErrorCode, w.message, w.details ?? {});
  return new Error(w.message);
}

/** Structured-cloneable copy of log fields or error details (functions and the like become strings). */
export function plain(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined || value === null || typeof value !== 'object') return undefined;
  try {
    structuredClone(value);
    return value as Record<string, unknown>;
  } catch {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      try {
        out[k] = structuredClone(v);
      } catch {
        out[k] = v instanceof Error ? { name: v.name, message: v.message } : String(v);
      }
    }
    return out;
  }
}

/** Outbox ops (worker → main), each a small array; see LaneOutbox in worker.ts. */
export type LaneOp =
  | readonly ['t', number] // records appended (or refused) by the lane: the main admission's `taken`
  | readonly ['n'] // an engine record (key rotation) entered the lane's queue
  | readonly ['m', string, 'inc' | 'observe', Readonly<Record<string, string>> | undefined, number] // a metric update
  | readonly ['a', number, string, number, boolean] // durable ack resolved: token, id, seq, durable
  | readonly ['x', number, WireError] // durable ack rejected
  | readonly ['l', 'info' | 'warn' | 'error', Record<string, unknown> | undefined, string | undefined]; // a log line

/** What a lane reports about itself with every outbox (and on a heartbeat). */
export interface LaneStatus {
  readonly health: AuditHealth;
  readonly exportAge: number | undefined;
  readonly degraded: readonly string[];
  readonly shipLag: number | undefined;
  readonly verifierKey: string | undefined;
  /** The newest signed checkpoint, when it changed since the last report. */
  readonly checkpoint?: { readonly note: string; readonly size: number; readonly root: Uint8Array; readonly time: number } | undefined;
}

export type ToLane =
  | { readonly t: 'b'; readonly r: unknown[] }
  | { readonly t: 'call'; readonly id: number; readonly op: 'flush' | 'close' | 'read' | 'prove' | 'snapshot' | 'reload'; readonly arg?: unknown };

export type FromLane =
  | { readonly t: 'o'; readonly ops: LaneOp[]; readonly status: LaneStatus | undefined }
  | { readonly t: 'ready'; readonly error?: WireError }
  | { readonly t: 'reply'; readonly id: number; readonly value?: unknown; readonly error?: WireError };
