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
 *
 * The three parts are held as their UTF-8 bytes, one after the other in `parts`: encoded once at
 * emit, they wait in the queue as one small view on a pooled buffer outside the JavaScript heap,
 * not as strings the garbage collector copies and promotes while the queue is long (measured in
 * docs/performance.md: under overload the promoted bytes per record, and with them the heap peak,
 * halve). The appender copies them into the record with two memcpy's around prev and seq.
 */
export class PreparedEvent {
  constructor(
    readonly id: string,
    readonly time: string,
    /** head ‖ mid ‖ tail, UTF-8. */
    readonly parts: Uint8Array,
    readonly headBytes: number,
    readonly midBytes: number,
    /**
     * Set on the reduced record of an oversized event (format §2.1): the full record it stands for,
     * and how to build the reduced record once the full one's size and hash are known — only the
     * appender knows seq and prev, so only it can compute them.
     */
    readonly oversizeOf?: { readonly full: PreparedEvent; readonly reduce: (annotation: string) => PreparedEvent },
  ) {}

  /** UTF-8 bytes of head + mid + tail. */
  get partsBytes(): number {
    return this.parts.length;
  }

  /** The parts as text (decoded on each call: for tests, the lane protocol's rare paths, debugging). */
  get head(): string {
    return utf8Text(this.parts, 0, this.headBytes);
  }

  get mid(): string {
    return utf8Text(this.parts, this.headBytes, this.headBytes + this.midBytes);
  }

  get tail(): string {
    return utf8Text(this.parts, this.headBytes + this.midBytes, this.parts.length);
  }

  withOversizeOf(o: NonNullable<PreparedEvent['oversizeOf']>): PreparedEvent {
    return new PreparedEvent(this.id, this.time, this.parts, this.headBytes, this.midBytes, o);
  }

  /** Encode three parts (each a well-formed string: every part is built from checked strings). */
  static of(id: string, time: string, head: string, mid: string, tail: string): PreparedEvent {
    // One measure and one write of the three joined: measuring flattens the rope of pieces once,
    // and for an all-ASCII record (bytes = characters) the parts' offsets are their lengths.
    const all = head + mid + tail;
    const n = Buffer.byteLength(all, 'utf8');
    const parts = Buffer.allocUnsafe(n);
    parts.write(all, 0, 'utf8');
    if (n === all.length) return new PreparedEvent(id, time, parts, head.length, mid.length);
    return new PreparedEvent(id, time, parts, Buffer.byteLength(head, 'utf8'), mid.length === 0 ? 0 : Buffer.byteLength(mid, 'utf8'));
  }
}

function utf8Text(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8', start, end);
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

let lastTimeMs = Number.NaN;
let lastTimeIso = '';

/** Years 0000–9999: outside them toISOString() leaves the 24-character form of format §2.2 (or throws). */
const MIN_TIME_MS = -62_167_219_200_000;
const MAX_TIME_MS = 253_402_300_799_999;

function iso(ms: number, got: unknown): string {
  if (!(ms >= MIN_TIME_MS && ms <= MAX_TIME_MS)) throw invalid('time', 'a time in the years 0000–9999', got);
  // A host that stamps its own events stamps many with the same millisecond too.
  if (ms !== lastTimeMs) {
    lastTimeIso = new Date(ms).toISOString();
    lastTimeMs = ms;
  }
  return lastTimeIso;
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

/**
 * The actor as canonical JSON in one pass (members in JCS order: groups, id, name, type), with the
 * checks of actorOf(); for the fast path, where no redaction path can reach the actor.
 */
function actorJson(a: unknown): string {
  if (a === undefined || a === null) return '{"id":"anonymous","type":"anonymous"}';
  if (typeof a !== 'object') throw invalid('actor', 'an object {id, type?, name?, groups?}', a);
  const o = a as Record<string, unknown>;
  const id = str('actor.id', typeof o['id'] === 'number' ? String(o['id']) : o['id'], 1, 256);
  const type = o['type'] === undefined ? 'user' : str('actor.type', o['type'], 1, 256);
  const name = o['name'] === undefined ? undefined : str('actor.name', o['name'], 0, 256);
  let out = '{';
  if (o['groups'] !== undefined) {
    const g = o['groups'];
    if (!Array.isArray(g) || g.length > 64) throw invalid('actor.groups', 'an array of at most 64 strings', g);
    out += '"groups":[';
    for (let i = 0; i < g.length; i++) {
      if (i > 0) out += ',';
      out += jsonString(str(`actor.groups[${i}]`, g[i], 0, 256), () => `$.actor.groups[${i}]`);
    }
    out += '],';
  }
  out += '"id":' + jsonString(id, () => '$.actor.id');
  if (name !== undefined) out += ',"name":' + jsonString(name, () => '$.actor.name');
  return out + ',"type":' + jsonString(type, () => '$.actor.type') + '}';
}

/**
 * Object.keys() of an attributes or annotations object, sorted (JCS order). Records of one route
 * share their key order, so the last sorted lists are kept (a small ring, compared key by key)
 * instead of sorting per record. A returned list is shared: read it, never change it.
 */
const SORTED_RING = 16;
const sortedRaw: (string[] | undefined)[] = new Array(SORTED_RING);
const sortedOut: (string[] | undefined)[] = new Array(SORTED_RING);
let sortedNext = 0;
function sortedKeys(keys: string[]): readonly string[] {
  if (keys.length < 2) return keys;
  next: for (let s = 0; s < SORTED_RING; s++) {
    const raw = sortedRaw[s];
    if (raw === undefined || raw.length !== keys.length) continue;
    for (let i = 0; i < keys.length; i++) if (raw[i] !== keys[i]) continue next;
    return sortedOut[s]!;
  }
  const out = keys.slice().sort();
  sortedRaw[sortedNext] = keys;
  sortedOut[sortedNext] = out;
  sortedNext = (sortedNext + 1) % SORTED_RING;
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

/** A string as canonical JSON; the error path is built only when something is refused. */
function jsonString(s: string, path: () => string): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`;
  return canonicalString(s, path());
}

/** Attribute and annotation keys recur across records: their JSON form, cached (bounded). */
const keyJson = new Map<string, string>();
function jsonKey(k: string): string {
  let q = keyJson.get(k);
  if (q === undefined) {
    q = jsonString(k, () => '$');
    if (keyJson.size >= 4096) keyJson.clear();
    keyJson.set(k, q);
  }
  return q;
}

/** The generic RFC 8785 writer, for parts with no one-pass writer (body, target, custom redaction). */
function generic(v: unknown): string {
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
  let out = '{';
  for (const k of sortedKeys(keys)) {
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
  let out = '{';
  for (const k of sortedKeys(keys)) {
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
  const obj: Record<string, unknown> = { action };
  // Fast path: actor and target written directly (no redaction path can reach them).
  const actorText = fast ? actorJson(e['actor']) : undefined;
  if (!fast) {
    obj['actor'] = actorOf(e['actor']);
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
  let targetText: string | undefined;
  if (e['target'] !== undefined) {
    const t = e['target'] as Record<string, unknown> | null;
    if (t === null || typeof t !== 'object') throw invalid('target', 'an object {type, id}', t);
    const type = str('target.type', t['type'], 1, 256);
    const tid = str('target.id', t['id'], 1, 256);
    if (fast) targetText = `{"id":${jsonString(tid, () => '$.target.id')},"type":${jsonString(type, () => '$.target.type')}}`;
    else obj['target'] = { type, id: tid };
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

  if (!fast || body) applyRedaction(obj, redactor);

  // Members in JCS order (UTF-16 code units): action, actor, annotations, attributes, body, id,
  // outcome | prev | request_id | seq | span_id, target, time, trace_id, v.
  let head = `{"action":${jsonString(action, () => '$')},"actor":${actorText ?? generic(obj['actor'])},"annotations":${annotationsText ?? generic(obj['annotations'])},"attributes":${attributesText ?? generic(obj['attributes'])}`;
  if (obj['body'] !== undefined) head += `,"body":${generic(obj['body'])}`;
  head += `,"id":${jsonString(id, () => '$')},"outcome":"${e['outcome'] as string}",`;
  const mid = requestId === undefined ? '' : `"request_id":${jsonString(requestId, () => '$')},`;
  let tail = '';
  if (spanId !== undefined) tail += `,"span_id":"${spanId as string}"`;
  if (targetText !== undefined) tail += `,"target":${targetText}`;
  else if (obj['target'] !== undefined) tail += `,"target":${generic(obj['target'])}`;
  tail += `,"time":"${time}"`;
  if (traceId !== undefined) tail += `,"trace_id":"${traceId as string}"`;
  tail += `,"v":${FORMAT_VERSION}}`;
  const prepared = PreparedEvent.of(id, time, head, mid, tail);
  if (prepared.partsBytes + ENVELOPE_BYTES > maxBytes) {
    throw new AuditError('AUDIT_RECORD_TOO_LARGE', `record would be ${prepared.partsBytes + ENVELOPE_BYTES} bytes, over the ${maxBytes}-byte limit`, {
      bytes: prepared.partsBytes + ENVELOPE_BYTES,
    });
  }
  return prepared;
}

/** The record's canonical bytes (format §2.1) for a prepared event at `seq` with chain link `prev` (hex, or the 32 bytes). */
export function recordBytes(p: PreparedEvent, seq: number, prev: string | Uint8Array): Uint8Array {
  return recordLeafInput(p, seq, prev).subarray(1);
}

const HEX_DIGITS = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);
const PREV_OPEN = Buffer.from('"prev":"', 'latin1');

/** Bytes writeLeafInput() may need for a prepared event: 0x00, the parts, and the envelope with the longest seq. */
export function leafInputBound(p: PreparedEvent): number {
  return 1 + p.partsBytes + ENVELOPE_BYTES;
}

/**
 * 0x00 ‖ the record's canonical bytes in one buffer: the RFC 6962 leaf input, whose tail is the
 * record itself. Buffer.write encodes UTF-8 ~2x faster than TextEncoder and needs no copy. `prev`
 * may be the link's 32 bytes: the appender's hot path writes their hex digits straight into the
 * buffer instead of making a 64-character string per record.
 */
export function recordLeafInput(p: PreparedEvent, seq: number, prev: string | Uint8Array): Uint8Array {
  const buf = Buffer.allocUnsafe(leafInputBound(p));
  const end = writeLeafInput(p, seq, prev, buf, 0);
  return end === buf.length ? buf : buf.subarray(0, end);
}

/**
 * Write the leaf input (0x00 ‖ record) into `buf` at `at` and return where it ends; `buf` must
 * have leafInputBound(p) bytes from `at`. The appender writes each record this way straight into
 * the log's record run, so a record has no buffer of its own.
 */
export function writeLeafInput(p: PreparedEvent, seq: number, prev: string | Uint8Array, buf: Uint8Array, at: number): number {
  // The size is known without measuring the joined string: the parts were measured once, at emit.
  const seqText = String(seq);
  buf[at] = 0x00;
  const parts = p.parts;
  const h = p.headBytes;
  buf.set(h === parts.length ? parts : parts.subarray(0, h), at + 1);
  let off = at + 1 + h;
  if (typeof prev === 'string') off = writeLatin1(buf, off, `"prev":"${prev}",`);
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
  const m = p.midBytes;
  if (m > 0) {
    buf.set(parts.subarray(h, h + m), off);
    off += m;
  }
  buf.set(SEQ_OPEN, off);
  off += SEQ_OPEN.length;
  for (let i = 0; i < seqText.length; i++) buf[off++] = seqText.charCodeAt(i);
  buf.set(parts.subarray(h + m), off);
  return off + parts.length - h - m;
}

const SEQ_OPEN = Buffer.from('"seq":', 'latin1');

/** ASCII text into bytes (the prev given as a hex string: tests and the rare paths). */
function writeLatin1(buf: Uint8Array, off: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[off++] = s.charCodeAt(i);
  return off;
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
  return reduce(`${full.partsBytes}:pending`).withOversizeOf({ full, reduce });
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
/**
 * The id is written as ASCII into this buffer and read out once as one flat string: built with
 * `+` from 20 pieces it was a rope of ~18 nodes, 420 bytes of garbage per record (the sampling
 * heap profiler, docs/performance.md), for the same CPU time.
 */
const idText = Buffer.alloc(36);

/** UUIDv7 (RFC 9562): 48-bit Unix ms, version 7, variant 10, 74 random bits from a pooled CSPRNG buffer. */
export function uuidv7(now: number = Date.now()): string {
  if (poolOffset + 10 > pool.length) {
    pool = new Uint8Array(8192);
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const t = idText;
  if (now !== lastMs) {
    const ts = now.toString(16).padStart(12, '0').slice(-12);
    for (let i = 0; i < 8; i++) t[i] = ts.charCodeAt(i);
    for (let i = 8; i < 12; i++) t[i + 1] = ts.charCodeAt(i);
    t[8] = 0x2d; // -
    t[13] = 0x2d;
    t[14] = 0x37; // version 7
    t[18] = 0x2d;
    t[23] = 0x2d;
    lastMs = now;
  }
  const r = pool;
  const o = poolOffset;
  poolOffset += 10;
  // rand_a: 12 bits; variant 10 and rand_b: 62 bits (the same bits as before, in the same places).
  t[15] = HEX_DIGITS[r[o]! >> 4]!;
  t[16] = HEX_DIGITS[r[o]! & 15]!;
  t[17] = HEX_DIGITS[r[o + 1]! & 15]!;
  t[19] = HEX_DIGITS[8 | (r[o + 2]! & 3)]!;
  t[20] = HEX_DIGITS[r[o + 3]! >> 4]!;
  t[21] = HEX_DIGITS[r[o + 3]! & 15]!;
  t[22] = HEX_DIGITS[r[o + 2]! >> 4]!;
  let at = 24;
  for (let k = 4; k < 10; k++) {
    t[at++] = HEX_DIGITS[r[o + k]! >> 4]!;
    t[at++] = HEX_DIGITS[r[o + k]! & 15]!;
  }
  return t.toString('latin1', 0, 36);
}

export { isRfc3339Millis };
