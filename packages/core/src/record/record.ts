import { AuditError, describe } from '../errors.js';
import { isRfc3339Millis } from '../prim/time.js';
import { canonicalize, canonicalNumber, canonicalString, PLAIN_ASCII } from './canonical.js';
import { applyRedaction, redactAttribute, REMOVED, type Redactor } from './redact.js';

/**
 * The record envelope (docs/format.md §2): what a host may emit, how it is validated, and the
 * exact canonical bytes of the record built from it.
 */

export const FORMAT_VERSION = 1;
export const MAX_RECORD_BYTES = 65_535;
export const OUTCOMES = ['success', 'failure', 'aborted'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface Actor {
  readonly id: string;
  readonly type?: string;
  readonly name?: string;
  readonly groups?: readonly string[];
}

export interface Target {
  readonly type: string;
  readonly id: string;
}

export type AttributeValue = string | number | boolean | readonly string[];

export interface CapturedBody {
  readonly size: number;
  readonly digest: string;
  readonly truncated: boolean;
  readonly encoding: 'json' | 'utf8' | 'base64';
  readonly content: unknown;
  /**
   * Why a whole body has no content (it is not JSON the record can hold: format §2.2). Not a
   * member of the record's body; httpEvent() records it as the annotation
   * `ron-audit.body.request` (or `.response`).
   */
  readonly omitted?: string;
}

/** What a host or adapter emits. Everything the engine adds (v, seq, prev) is not part of it. */
export interface AuditEvent {
  readonly action: string;
  readonly outcome: Outcome;
  readonly actor?: Actor;
  readonly target?: Target;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
  readonly request_id?: string;
  readonly trace_id?: string;
  readonly span_id?: string;
  /** W3C traceparent header; sets trace_id/span_id when those are absent. */
  readonly traceparent?: string;
  /** Event time; default: now. */
  readonly time?: Date | number | string;
  /** Record id; default: a fresh UUIDv7. */
  readonly id?: string;
  readonly body?: { readonly request?: CapturedBody; readonly response?: CapturedBody };
}

/**
 * A validated, redacted event, pre-serialized around the two members only the appender knows
 * (`prev` and `seq`). JCS sorts members, and both sit in the middle of the order
 * (…, outcome, prev, request_id, seq, span_id, …), so the record is head + prev + mid + seq + tail.
 */
export interface PreparedEvent {
  readonly id: string;
  readonly time: string;
  readonly head: string;
  readonly mid: string;
  readonly tail: string;
  /** UTF-8 bytes of head + mid + tail. */
  readonly partsBytes: number;
  /** head, mid and tail are plain ASCII (bytes = characters; written as latin1). */
  readonly ascii?: boolean;
  /**
   * Set on the reduced record of an oversized event (format §2.1): the full record it stands for,
   * and how to build the reduced record once the full one's size and hash are known — only the
   * appender knows seq and prev, so only it can compute them.
   */
  readonly oversizeOf?: { readonly full: PreparedEvent; readonly reduce: (annotation: string) => PreparedEvent };
}

/** Bytes the record adds around the prepared parts: `"prev":"<64>",` + `"seq":` + `,` + digits (≤ 16). */
const ENVELOPE_BYTES = '"prev":"'.length + 64 + 2 + '"seq":'.length + 16;

function invalid(field: string, expected: string, got: unknown): AuditError {
  return new AuditError('AUDIT_INVALID_EVENT', `event.${field}: expected ${expected}, received ${describe(got)}`, { field });
}

function str(field: string, v: unknown, min: number, max: number): string {
  if (typeof v !== 'string' || v.length < min || v.length > max) throw invalid(field, `a string of ${min}–${max} characters`, v);
  return v;
}

/** `length` lowercase hex digits, not all zero (W3C trace context ids): one pass, no RegExp (per record). */
function isTraceHex(v: unknown, length: number): boolean {
  if (typeof v !== 'string' || v.length !== length) return false;
  let nonZero = false;
  for (let i = 0; i < length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 48 && c <= 57) nonZero ||= c !== 48;
    else if (c >= 97 && c <= 102) nonZero = true;
    else return false;
  }
  return nonZero;
}
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parse a W3C traceparent; undefined when malformed (a bad header is the client's, not a reason to lose the record). */
export function parseTraceparent(header: string | undefined): { trace_id: string; span_id: string } | undefined {
  if (typeof header !== 'string') return undefined;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return { trace_id: m[2]!, span_id: m[3]! };
}

let lastTimeMs = -1;
let lastTimeIso = '';

/** Years 0000–9999: outside them toISOString() leaves the 24-character form of format §2.2 (or throws). */
const MIN_TIME_MS = -62_167_219_200_000;
const MAX_TIME_MS = 253_402_300_799_999;

function iso(ms: number, got: unknown): string {
  if (!(ms >= MIN_TIME_MS && ms <= MAX_TIME_MS)) throw invalid('time', 'a time in the years 0000–9999', got);
  return new Date(ms).toISOString();
}

function timeOf(t: AuditEvent['time'], now: number): string {
  if (t === undefined) {
    // Many events share a millisecond under load; one Date per millisecond, not per event.
    if (now !== lastTimeMs) {
      lastTimeIso = new Date(now).toISOString();
      lastTimeMs = now;
    }
    return lastTimeIso;
  }
  if (t instanceof Date) {
    if (Number.isNaN(t.getTime())) throw invalid('time', 'a valid Date', 'Invalid Date');
    return iso(t.getTime(), t.toISOString());
  }
  if (typeof t === 'number') {
    if (!Number.isFinite(t)) throw invalid('time', 'milliseconds since the epoch', t);
    return iso(t, t);
  }
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(t)) throw invalid('time', 'an RFC 3339 timestamp', t);
    return iso(ms, t);
  }
  throw invalid('time', 'Date, number or RFC 3339 string', t);
}

function actorOf(a: unknown): Record<string, unknown> {
  if (a === undefined || a === null) return { id: 'anonymous', type: 'anonymous' };
  if (typeof a !== 'object') throw invalid('actor', 'an object {id, type?, name?, groups?}', a);
  const o = a as Record<string, unknown>;
  const out: Record<string, unknown> = { id: str('actor.id', typeof o['id'] === 'number' ? String(o['id']) : o['id'], 1, 256) };
  out['type'] = o['type'] === undefined ? 'user' : str('actor.type', o['type'], 1, 256);
  if (o['name'] !== undefined) out['name'] = str('actor.name', o['name'], 0, 256);
  if (o['groups'] !== undefined) {
    const g = o['groups'];
    if (!Array.isArray(g) || g.length > 64) throw invalid('actor.groups', 'an array of at most 64 strings', g);
    out['groups'] = g.map((x, i) => str(`actor.groups[${i}]`, x, 0, 256));
  }
  return out;
}

function recordOf(field: string, v: unknown, maxMembers: number, check: (k: string, v: unknown) => unknown): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid(field, 'a plain object', v);
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > maxMembers) throw invalid(field, `at most ${maxMembers} members`, `${entries.length} members`);
  const out: Record<string, unknown> = {};
  for (const [k, val] of entries) {
    if (val === undefined) continue;
    out[k] = check(k, val);
  }
  return out;
}

/**
 * Whether every string written into the record being prepared was plain ASCII (then its UTF-8
 * length is its string length, and it is written as latin1). Reset per prepare(); any part not
 * built by jsonString() clears it, conservatively.
 */
let asciiOnly = true;

/** A string as canonical JSON; the error path is built only when something is refused. */
function jsonString(s: string, path: () => string): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`;
  asciiOnly = false;
  return canonicalString(s, path());
}

/** Attribute and annotation keys recur across records: their JSON form, cached (bounded). */
const keyJson = new Map<string, string>();
function jsonKey(k: string): string {
  let q = keyJson.get(k);
  if (q === undefined) {
    q = jsonString(k, () => '$');
    if (!PLAIN_ASCII.test(k)) return q; // not cached: asciiOnly must be cleared on every use
    if (keyJson.size >= 4096) keyJson.clear();
    keyJson.set(k, q);
  }
  return q;
}

/** The generic RFC 8785 writer, for parts with no one-pass writer (body, target, custom redaction). */
function generic(v: unknown): string {
  asciiOnly = false;
  return canonicalize(v);
}

/**
 * attributes → canonical JSON in one pass: validate, redact and serialize each member without the
 * intermediate copy (the hot path of every record). Byte-equal to validating into an object,
 * applyRedaction, then canonicalize (a test pins it); used when no custom redaction paths are set.
 */
function attributesJson(v: unknown, r: Redactor): string {
  if (v === undefined) return '{}';
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid('attributes', 'a plain object', v);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length > 128) throw invalid('attributes', 'at most 128 members', `${keys.length} members`);
  keys.sort();
  let out = '{';
  for (const k of keys) {
    const raw = o[k];
    if (raw === undefined) continue;
    const val = redactAttribute(k, attributeValue(k, raw), r);
    if (val === REMOVED) continue;
    if (out.length > 1) out += ',';
    out += jsonKey(k) + ':';
    if (typeof val === 'string') out += jsonString(val, () => `$.${k}`);
    else if (typeof val === 'number') out += canonicalNumber(val, `$.${k}`);
    else if (typeof val === 'boolean') out += val ? 'true' : 'false';
    else out += generic(val);
  }
  return out + '}';
}

function annotationsJson(v: unknown): string {
  if (v === undefined) return '{}';
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalid('annotations', 'a plain object', v);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length > 64) throw invalid('annotations', 'at most 64 members', `${keys.length} members`);
  keys.sort();
  let out = '{';
  for (const k of keys) {
    const val = o[k];
    if (val === undefined) continue;
    str('annotations key', k, 1, 128);
    str(`annotations["${k}"]`, val, 0, 4096);
    if (out.length > 1) out += ',';
    out += jsonKey(k) + ':' + jsonString(val as string, () => `$.${k}`);
  }
  return out + '}';
}

function attributeValue(k: string, v: unknown): unknown {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw invalid(`attributes["${k}"]`, 'a finite number', v);
    return v;
  }
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return [...v];
  throw invalid(`attributes["${k}"]`, 'string, finite number, boolean or string[]', v);
}

function bodyOf(v: unknown): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object') throw invalid('body', '{request?, response?}', v);
  const out: Record<string, unknown> = {};
  for (const part of ['request', 'response'] as const) {
    const b = (v as Record<string, unknown>)[part];
    if (b === undefined) continue;
    if (b === null || typeof b !== 'object') throw invalid(`body.${part}`, 'a captured body', b);
    const o = b as Record<string, unknown>;
    if (!Number.isSafeInteger(o['size']) || (o['size'] as number) < 0) throw invalid(`body.${part}.size`, 'a byte count', o['size']);
    if (typeof o['digest'] !== 'string' || !/^[0-9a-f]{64}$/.test(o['digest'])) throw invalid(`body.${part}.digest`, '64 lowercase hex chars', o['digest']);
    if (typeof o['truncated'] !== 'boolean') throw invalid(`body.${part}.truncated`, 'boolean', o['truncated']);
    if (o['encoding'] !== 'json' && o['encoding'] !== 'utf8' && o['encoding'] !== 'base64') throw invalid(`body.${part}.encoding`, '"json", "utf8" or "base64"', o['encoding']);
    out[part] = { size: o['size'], digest: o['digest'], truncated: o['truncated'], encoding: o['encoding'], content: o['content'] ?? null };
  }
  return out;
}

/**
 * Validate, default and redact an event. Throws AUDIT_INVALID_EVENT naming the field, or
 * AUDIT_NOT_CANONICAL for values JCS cannot hold, or AUDIT_RECORD_TOO_LARGE.
 */
/**
 * Actions the engine itself writes (key rotation, format §12). An application event may not use
 * them: a forged key announcement would make the whole log fail verification (or worse).
 */
export const RESERVED_ACTION_PREFIX = 'ron-audit.key.';

export function prepareEvent(event: AuditEvent, redactor: Redactor, newId: () => string, now: number = Date.now(), maxBytes: number = MAX_RECORD_BYTES): PreparedEvent {
  return prepare(event, redactor, newId, now, maxBytes, false);
}

/** The engine's own records (key announcements and retirements): the reserved actions are allowed. */
export function prepareInternalEvent(event: AuditEvent, redactor: Redactor, newId: () => string, now: number = Date.now()): PreparedEvent {
  return prepare(event, redactor, newId, now, MAX_RECORD_BYTES, true);
}

function prepare(event: AuditEvent, redactor: Redactor, newId: () => string, now: number, maxBytes: number, internal: boolean): PreparedEvent {
  try {
    return prepareUnchecked(event, redactor, newId, now, maxBytes, internal);
  } catch (err) {
    if (err instanceof AuditError) throw err;
    // The event itself threw while being read (a getter, a Proxy trap, a toJSON-less exotic
    // object): the caller's input, so a typed error, not whatever the caller's code threw.
    throw new AuditError('AUDIT_INVALID_EVENT', `event could not be read: ${describeThrown(err)}`, { field: '' });
  }
}

function describeThrown(err: unknown): string {
  try {
    return err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 512) : describe(err);
  } catch {
    return 'an unreadable value';
  }
}

function prepareUnchecked(event: AuditEvent, redactor: Redactor, newId: () => string, now: number, maxBytes: number, internal: boolean): PreparedEvent {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) throw invalid('', 'an event object', event);
  const e = event as unknown as Record<string, unknown>;
  const action = str('action', e['action'], 1, 256);
  if (!internal && action.startsWith(RESERVED_ACTION_PREFIX)) throw invalid('action', `an action not starting with "${RESERVED_ACTION_PREFIX}" (reserved for the engine's key records)`, action);
  if (!(OUTCOMES as readonly unknown[]).includes(e['outcome'])) throw invalid('outcome', '"success", "failure" or "aborted"', e['outcome']);
  const id = e['id'] === undefined ? newId() : str('id', e['id'], 1, 128);
  const time = timeOf(e['time'] as AuditEvent['time'], now);
  // Without custom redaction paths, attributes and annotations take the one-pass fast path.
  const fast = redactor.paths.length === 0;
  asciiOnly = true;
  const obj: Record<string, unknown> = { action, actor: actorOf(e['actor']) };
  if (!fast) {
    obj['annotations'] = recordOf('annotations', e['annotations'], 64, (k, v) => {
      str(`annotations key`, k, 1, 128);
      return str(`annotations["${k}"]`, v, 0, 4096);
    });
    obj['attributes'] = recordOf('attributes', e['attributes'], 128, attributeValue);
  }
  const annotationsText = fast ? annotationsJson(e['annotations']) : undefined;
  const attributesText = fast ? attributesJson(e['attributes'], redactor) : undefined;
  const body = bodyOf(e['body']);
  if (body) obj['body'] = body;
  if (e['target'] !== undefined) {
    const t = e['target'] as Record<string, unknown> | null;
    if (t === null || typeof t !== 'object') throw invalid('target', 'an object {type, id}', t);
    obj['target'] = { type: str('target.type', t['type'], 1, 256), id: str('target.id', t['id'], 1, 256) };
  }
  let traceId = e['trace_id'];
  let spanId = e['span_id'];
  if (traceId === undefined && spanId === undefined && e['traceparent'] !== undefined) {
    const tp = parseTraceparent(e['traceparent'] as string);
    traceId = tp?.trace_id;
    spanId = tp?.span_id;
  }
  if (traceId !== undefined && !isTraceHex(traceId, 32)) throw invalid('trace_id', '32 lowercase hex chars, not all zero', traceId);
  if (spanId !== undefined && !isTraceHex(spanId, 16)) throw invalid('span_id', '16 lowercase hex chars, not all zero', spanId);
  const requestId = e['request_id'] === undefined ? undefined : str('request_id', e['request_id'], 1, 256);

  applyRedaction(obj, redactor);

  // Members in JCS order (UTF-16 code units): action, actor, annotations, attributes, body, id,
  // outcome | prev | request_id | seq | span_id, target, time, trace_id, v.
  let head = `{"action":${jsonString(action, () => '$')},"actor":${generic(obj['actor'])},"annotations":${annotationsText ?? generic(obj['annotations'])},"attributes":${attributesText ?? generic(obj['attributes'])}`;
  if (obj['body'] !== undefined) head += `,"body":${generic(obj['body'])}`;
  head += `,"id":${jsonString(id, () => '$')},"outcome":"${e['outcome'] as string}",`;
  const mid = requestId === undefined ? '' : `"request_id":${jsonString(requestId, () => '$')},`;
  let tail = '';
  if (spanId !== undefined) tail += `,"span_id":"${spanId as string}"`;
  if (obj['target'] !== undefined) tail += `,"target":${generic(obj['target'])}`;
  tail += `,"time":"${time}"`;
  if (traceId !== undefined) tail += `,"trace_id":"${traceId as string}"`;
  tail += `,"v":${FORMAT_VERSION}}`;
  const ascii = asciiOnly;
  const partsBytes = ascii ? head.length + mid.length + tail.length : utf8Length(head) + utf8Length(mid) + utf8Length(tail);
  if (partsBytes + ENVELOPE_BYTES > maxBytes) {
    throw new AuditError('AUDIT_RECORD_TOO_LARGE', `record would be ${partsBytes + ENVELOPE_BYTES} bytes, over the ${maxBytes}-byte limit`, {
      bytes: partsBytes + ENVELOPE_BYTES,
    });
  }
  return { id, time, head, mid, tail, partsBytes, ascii };
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** The record's canonical bytes (format §2.1) for a prepared event at `seq` with chain link `prev` (hex, or the 32 bytes). */
export function recordBytes(p: PreparedEvent, seq: number, prev: string | Uint8Array): Uint8Array {
  return recordLeafInput(p, seq, prev).subarray(1);
}

const HEX_DIGITS = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);
const PREV_OPEN = Buffer.from('"prev":"', 'latin1');

/**
 * 0x00 ‖ the record's canonical bytes in one buffer: the RFC 6962 leaf input, whose tail is the
 * record itself. Buffer.write encodes UTF-8 ~2x faster than TextEncoder and needs no copy. `prev`
 * may be the link's 32 bytes: the appender's hot path writes their hex digits straight into the
 * buffer instead of making a 64-character string per record.
 */
export function recordLeafInput(p: PreparedEvent, seq: number, prev: string | Uint8Array): Uint8Array {
  // The size is known without measuring the joined string: the parts were measured once, at emit.
  const seqText = String(seq);
  const buf = Buffer.allocUnsafe(1 + p.partsBytes + 8 + 64 + 2 + 6 + seqText.length);
  buf[0] = 0x00;
  const enc = p.ascii === true ? 'latin1' : 'utf8';
  let off = 1 + buf.write(p.head, 1, enc);
  if (typeof prev === 'string') off += buf.write(`"prev":"${prev}",`, off, 'latin1');
  else {
    buf.set(PREV_OPEN, off);
    off += PREV_OPEN.length;
    for (let i = 0; i < 32; i++) {
      const b = prev[i]!;
      buf[off++] = HEX_DIGITS[b >> 4]!;
      buf[off++] = HEX_DIGITS[b & 15]!;
    }
    buf[off++] = 0x22; // "
    buf[off++] = 0x2c; // ,
  }
  if (p.mid.length > 0) off += buf.write(p.mid, off, enc);
  off += buf.write(`"seq":${seqText}`, off, 'latin1');
  off += buf.write(p.tail, off, enc);
  return off === buf.length ? buf : buf.subarray(0, off);
}

/**
 * The reduced record of format §2.1 for an admitted request whose full record cannot be written:
 * every field except body and annotations, with one annotation saying why, and of the attributes
 * only REDUCED_ATTRIBUTES. If a kept
 * field is itself what made the event unrecordable, falls back to id, action, outcome and actor,
 * each replaced when unusable — an admitted request is always recorded.
 */
export function prepareReduced(
  event: AuditEvent,
  key: 'ron-audit.oversize' | 'ron-audit.invalid',
  annotation: string,
  redactor: Redactor,
  newId: () => string,
  now: number,
): PreparedEvent {
  const note = annotation.slice(0, 4096).toWellFormed();
  let attributes: Record<string, string | number> = {};
  try {
    attributes = reducedAttributes(event.attributes);
    return prepareEvent({ ...event, attributes, body: undefined, annotations: { [key]: note } } as unknown as AuditEvent, redactor, newId, now);
  } catch {
    try {
      return prepareEvent({ ...reducedEvent(event as { id: string }, key, note), attributes }, redactor, newId, now);
    } catch {
      return prepareEvent(reducedEvent(event as { id: string }, key, note), redactor, newId, now);
    }
  }
}

/**
 * The attributes a reduced record keeps (format §2.1): who asked what and how it was answered,
 * each only when it is certain to be recordable, so that a client cannot strip them from its
 * request's record by making some other part of it unrecordable.
 */
export const REDUCED_ATTRIBUTES = ['http.request.method', 'http.route', 'url.path', 'http.response.status_code', 'client.address'] as const;

function reducedAttributes(attributes: unknown): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (attributes === null || typeof attributes !== 'object') return out;
  for (const k of REDUCED_ATTRIBUTES) {
    const v = (attributes as Record<string, unknown>)[k];
    if (typeof v === 'string' && v.length <= 1024 && v.isWellFormed()) out[k] = v;
    else if (typeof v === 'number' && Number.isSafeInteger(v)) out[k] = v;
  }
  return out;
}

/** The reduced record of an oversized event; the appender completes its annotation (see PreparedEvent.oversizeOf). */
export function prepareOversized(event: AuditEvent, redactor: Redactor, newId: () => string, now: number): PreparedEvent {
  const full = prepareEvent(event, redactor, newId, now, Number.POSITIVE_INFINITY);
  const reduce = (annotation: string): PreparedEvent => prepareReduced({ ...event, id: full.id }, 'ron-audit.oversize', annotation, redactor, newId, now);
  return { ...reduce(`${full.partsBytes}:pending`), oversizeOf: { full, reduce } };
}

/** The last-resort reduced event: only fields that are certain to be recordable. */
export function reducedEvent(
  base: { id: string; action?: unknown; outcome?: unknown; actor?: unknown },
  key: 'ron-audit.oversize' | 'ron-audit.invalid',
  annotation: string,
): AuditEvent {
  const outcome = (OUTCOMES as readonly unknown[]).includes(base.outcome) ? (base.outcome as Outcome) : 'failure';
  const action =
    typeof base.action === 'string' && base.action.length > 0 && base.action.length <= 256 && base.action.isWellFormed() && !base.action.startsWith(RESERVED_ACTION_PREFIX)
      ? base.action
      : 'ron-audit.unrecordable';
  let actor: Actor | undefined;
  try {
    actor = actorOf(base.actor) as unknown as Actor;
    canonicalize(actor);
  } catch {
    actor = undefined;
  }
  const ev: AuditEvent = { id: base.id, action, outcome, annotations: { [key]: annotation.slice(0, 4096).toWellFormed() } };
  return actor ? { ...ev, actor } : ev;
}

let pool = new Uint8Array(0);
let poolOffset = 0;
let lastMs = -1;
let lastPrefix = '';
const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const HEX1 = Array.from({ length: 16 }, (_, i) => i.toString(16));

/** UUIDv7 (RFC 9562): 48-bit Unix ms, version 7, variant 10, 74 random bits from a pooled CSPRNG buffer. */
export function uuidv7(now: number = Date.now()): string {
  if (poolOffset + 10 > pool.length) {
    pool = new Uint8Array(8192);
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  if (now !== lastMs) {
    const ts = now.toString(16).padStart(12, '0').slice(-12);
    lastPrefix = `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7`;
    lastMs = now;
  }
  const r = pool;
  const o = poolOffset;
  poolOffset += 10;
  return (
    lastPrefix +
    HEX2[r[o]!]! + HEX1[r[o + 1]! & 15]! + '-' +
    HEX1[8 | (r[o + 2]! & 3)]! + HEX2[r[o + 3]!]! + HEX1[r[o + 2]! >> 4]! + '-' +
    HEX2[r[o + 4]!]! + HEX2[r[o + 5]!]! + HEX2[r[o + 6]!]! + HEX2[r[o + 7]!]! + HEX2[r[o + 8]!]! + HEX2[r[o + 9]!]!
  );
}

export { isRfc3339Millis };
