import { invalidArgument } from '../errors.js';
import { contentDigest, contentDigestStream, type Blake3Stream } from '../prim/hash.js';
import { toHex } from '../prim/hex.js';
import { toBase64 } from '../prim/base64.js';
import { canonicalize } from './canonical.js';
import type { CapturedBody } from './record.js';

/**
 * Body capture for the `request` and `requestResponse` levels (docs/format.md §2.2), in the core so
 * that every adapter captures the same way. Redaction of JSON members happens later, in
 * prepareEvent, with the rest of the event.
 */

export interface CaptureBodyOptions {
  /** Keep at most this many bytes of content; the digest and size always cover the whole body. */
  readonly maxBytes: number;
  readonly contentType?: string | undefined;
}

const utf8 = new TextEncoder();
// fatal: a body is kept as text only when its bytes are text; otherwise its exact bytes are kept (base64) or none.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Deepest nesting of a body kept as JSON content. The record's canonical form refuses nesting
 * beyond 64 (canonical.ts) and the content sits four levels down (record → body → request →
 * content); a deeper body is recorded by size and digest only.
 */
export const MAX_BODY_DEPTH = 56;

function isTextual(ct: string | undefined): boolean {
  return ct === undefined || /^(text\/|application\/(json|[\w.+-]*\+json|x-www-form-urlencoded|xml|javascript))/i.test(ct);
}

function isJsonType(ct: string | undefined): boolean {
  return ct !== undefined && /^application\/(json|[\w.+-]*\+json)/i.test(ct);
}

function isFormType(ct: string | undefined): boolean {
  return ct !== undefined && /^application\/x-www-form-urlencoded/i.test(ct);
}

/** Form fields as an object (repeated names become arrays), so key-based redaction applies to them as to JSON. */
function formFields(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (k === '__proto__') throw new Unkeepable('a field named "__proto__"');
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** Why a whole structured body cannot be kept as content; the body is then recorded by size and digest only. */
class Unkeepable {
  constructor(readonly reason: string) {}
}

/**
 * Whether parsed JSON can sit in a record as content: JSON.parse accepts what RFC 8785 refuses
 * (lone surrogates, numbers beyond a double such as 1e400, which parse to Infinity) and builds
 * an own `__proto__` member, which every later copy (redaction, a verifier's object spread)
 * would turn into a prototype instead of data. Throws Unkeepable naming the first problem.
 */
function checkContent(value: unknown, depth: number, path: string): void {
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new Unkeepable(`${path}: a string with a lone surrogate`);
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Unkeepable(`${path}: a number outside the IEEE-754 double range`);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (depth >= MAX_BODY_DEPTH) throw new Unkeepable(`nesting deeper than ${MAX_BODY_DEPTH}`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkContent(value[i], depth + 1, `${path}[${i}]`);
    return;
  }
  for (const k of Object.keys(value)) {
    if (k === '__proto__') throw new Unkeepable(`${path}: a member named "__proto__"`);
    if (!k.isWellFormed()) throw new Unkeepable(`${path}: a member name with a lone surrogate`);
    checkContent((value as Record<string, unknown>)[k], depth + 1, `${path}.${k}`);
  }
}

/** The parsed content of a whole JSON or form body, or Unkeepable. */
function structuredContent(kept: Uint8Array, form: boolean): unknown {
  let text: string;
  try {
    text = strictDecoder.decode(kept);
  } catch {
    throw new Unkeepable('not valid UTF-8');
  }
  if (form) return formFields(text);
  let parsed: unknown;
  try {
    // V8's JSON.parse is not recursive, so deep nesting cannot overflow the stack here.
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Unkeepable(`not valid JSON (${(err as Error).message.slice(0, 200)})`);
  }
  checkContent(parsed, 0, '$');
  return parsed;
}

/**
 * The recorded shape of a body, given the bytes kept (the whole body unless truncated): JSON and
 * form bodies as structured content (so redaction by member name applies), cut ones with no
 * content at all (they could not be redacted member by member), and so whole ones that cannot be
 * kept as JSON (`omitted` says why); other text as a UTF-8 prefix, anything else (binary, text
 * that is not UTF-8) as base64 of the exact bytes.
 */
function shape(kept: Uint8Array, size: number, digest: string, maxBytes: number, contentType: string | undefined): CapturedBody {
  const truncated = size > maxBytes;
  const form = isFormType(contentType);
  if (isJsonType(contentType) || form) {
    if (truncated) return { size, digest, truncated, encoding: 'utf8', content: '' };
    try {
      return { size, digest, truncated, encoding: 'json', content: structuredContent(kept, form) };
    } catch (err) {
      if (!(err instanceof Unkeepable)) throw err;
      return { size, digest, truncated, encoding: 'utf8', content: '', omitted: err.reason };
    }
  }
  const prefix = kept.subarray(0, maxBytes);
  if (isTextual(contentType)) {
    try {
      return { size, digest, truncated, encoding: 'utf8', content: strictDecoder.decode(utf8Prefix(kept, maxBytes)) };
    } catch {
      /* not UTF-8: the exact bytes below */
    }
  }
  return { size, digest, truncated, encoding: 'base64', content: toBase64(prefix) };
}

/** Cut `bytes` to at most `max` bytes without splitting a UTF-8 sequence. */
function utf8Prefix(bytes: Uint8Array, max: number): Uint8Array {
  let end = Math.min(max, bytes.length);
  while (end > 0 && end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function checkOptions(options: CaptureBodyOptions): void {
  if (options === null || typeof options !== 'object' || !Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) {
    throw invalidArgument('options.maxBytes', 'an integer ≥ 0', options?.maxBytes);
  }
  if (options.contentType !== undefined && typeof options.contentType !== 'string') throw invalidArgument('options.contentType', 'a media type string', options.contentType);
}

/**
 * Capture a body. `body` is the raw bytes or text as received — then size and digest cover
 * exactly those bytes — or, for a host that only has the parsed value, that value, whose
 * canonical JSON then stands in for the bytes. A parsed value that canonical JSON cannot hold
 * (lone surrogate, NaN, cycle) has no bytes to stand for it: AUDIT_NOT_CANONICAL, never a
 * digest of some text form of it.
 */
export function captureBody(body: unknown, options: CaptureBodyOptions): CapturedBody | undefined {
  checkOptions(options);
  if (body === undefined || body === null) return undefined;
  if (body instanceof Uint8Array || typeof body === 'string') {
    const bytes = typeof body === 'string' ? utf8.encode(body) : body;
    return shape(bytes, bytes.length, toHex(contentDigest(bytes)), options.maxBytes, options.contentType);
  }
  const text = canonicalize(body);
  const bytes = utf8.encode(text);
  const size = bytes.length;
  const digest = toHex(contentDigest(bytes));
  // Cut: no content, as for a cut JSON body (it could not be redacted member by member).
  if (size > options.maxBytes) return { size, digest, truncated: true, encoding: 'utf8', content: '' };
  try {
    checkContent(body, 0, '$');
  } catch (err) {
    if (!(err instanceof Unkeepable)) throw err;
    return { size, digest, truncated: false, encoding: 'utf8', content: '', omitted: err.reason };
  }
  return { size, digest, truncated: false, encoding: 'json', content: body };
}

/** A body captured while it streams: the digest and size cover every byte, the content only the first maxBytes. */
export interface BodyCapture {
  update(chunk: Uint8Array | string): void;
  finish(): CapturedBody;
}

/**
 * Streaming capture for bodies an adapter sees in chunks (a response written with res.write):
 * memory stays at maxBytes whatever the body size, and the digest is still of the whole body.
 * The result equals captureBody() of the concatenated bytes (a test pins it).
 */
export function createBodyCapture(options: CaptureBodyOptions): BodyCapture {
  checkOptions(options);
  // A body that fits in the head is digested once at finish(); only a longer one needs a
  // stream. Both go through the installed hash backend: WebAssembly BLAKE3 in the engine, about
  // ten times the pure-JS hasher, which matters for bodies a parser drains after refusing them.
  let hasher: Blake3Stream | undefined;
  const head = new Uint8Array(options.maxBytes + 1);
  let kept = 0;
  let size = 0;
  let done = false;
  return {
    update(chunk) {
      if (done) throw invalidArgument('chunk', 'no update after finish()', chunk);
      const bytes = typeof chunk === 'string' ? utf8.encode(chunk) : chunk;
      if (!(bytes instanceof Uint8Array)) throw invalidArgument('chunk', 'Uint8Array or string', chunk);
      size += bytes.length;
      if (hasher !== undefined) hasher.update(bytes);
      else if (size > head.length) {
        hasher = contentDigestStream();
        hasher.update(head.subarray(0, kept));
        hasher.update(bytes);
      }
      if (kept < head.length) {
        const take = Math.min(bytes.length, head.length - kept);
        head.set(bytes.subarray(0, take), kept);
        kept += take;
      }
    },
    finish() {
      if (done) throw invalidArgument('finish', 'one finish() per capture', 'a second call');
      done = true;
      const digest = toHex(hasher === undefined ? contentDigest(head.subarray(0, kept)) : hasher.digest());
      return shape(head.subarray(0, kept), size, digest, options.maxBytes, options.contentType);
    },
  };
}

const CAPTURED = Symbol.for('ron-audit.captured-body');

/** Mark a body an adapter already captured (createBodyCapture) so httpEvent records it as is. */
export function capturedBody(body: CapturedBody): CapturedBody {
  return Object.assign(Object.create(null) as object, body, { [CAPTURED]: true }) as CapturedBody;
}

export function isCapturedBody(x: unknown): x is CapturedBody {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[CAPTURED] === true;
}
