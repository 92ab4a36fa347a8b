import { blake3 } from '@noble/hashes/blake3.js';
import { invalidArgument } from '../errors.js';
import { contentDigest } from '../log/hash.js';
import { toHex } from '../log/hex.js';
import { toBase64 } from '../sign/base64.js';
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
const decoder = new TextDecoder('utf-8', { fatal: false });

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
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/**
 * The recorded shape of a body, given the bytes kept (the whole body unless truncated): JSON and
 * form bodies as structured content (so redaction by member name applies), cut ones with no
 * content at all (they could not be redacted member by member), other text as a UTF-8 prefix,
 * binary as base64.
 */
function shape(kept: Uint8Array, size: number, digest: string, maxBytes: number, contentType: string | undefined): CapturedBody {
  const truncated = size > maxBytes;
  const structured = isJsonType(contentType) || isFormType(contentType);
  if (structured && !truncated) {
    try {
      const text = decoder.decode(kept);
      return { size, digest, truncated, encoding: 'json', content: isFormType(contentType) ? formFields(text) : (JSON.parse(text) as unknown) };
    } catch {
      /* not JSON after all: recorded as text below */
    }
  }
  if (structured && truncated) return { size, digest, truncated, encoding: 'utf8', content: '' };
  if (isTextual(contentType)) return { size, digest, truncated, encoding: 'utf8', content: decoder.decode(utf8Prefix(kept, maxBytes)) };
  return { size, digest, truncated, encoding: 'base64', content: toBase64(kept.subarray(0, maxBytes)) };
}

/** Cut `bytes` to at most `max` bytes without splitting a UTF-8 sequence. */
function utf8Prefix(bytes: Uint8Array, max: number): Uint8Array {
  let end = Math.min(max, bytes.length);
  while (end > 0 && end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/**
 * Capture a body. `body` is the raw bytes or text when the adapter has them, or a value the
 * framework already parsed (then the canonical JSON of that value stands in for the raw bytes).
 */
export function captureBody(body: unknown, options: CaptureBodyOptions): CapturedBody | undefined {
  if (options === null || typeof options !== 'object' || !Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) {
    throw invalidArgument('options.maxBytes', 'an integer ≥ 0', options?.maxBytes);
  }
  if (options.contentType !== undefined && typeof options.contentType !== 'string') throw invalidArgument('options.contentType', 'a media type string', options.contentType);
  if (body === undefined || body === null) return undefined;
  let bytes: Uint8Array;
  let parsed: unknown;
  let hasParsed = false;
  if (body instanceof Uint8Array) bytes = body;
  else if (typeof body === 'string') bytes = utf8.encode(body);
  else {
    let text: string;
    try {
      text = canonicalize(body);
      parsed = body;
      hasParsed = true;
    } catch {
      // Not representable as canonical JSON (lone surrogate, NaN, cycle): kept as content it
      // would make the whole record unwritable, so only its text form is captured.
      text = JSON.stringify(String(body));
    }
    bytes = utf8.encode(text);
  }
  const size = bytes.length;
  const digest = toHex(contentDigest(bytes));
  const truncated = size > options.maxBytes;
  if (hasParsed) {
    // A value the framework parsed: structured content when whole; cut, no content (as for JSON).
    return truncated ? { size, digest, truncated, encoding: 'utf8', content: '' } : { size, digest, truncated, encoding: 'json', content: parsed };
  }
  return shape(bytes, size, digest, options.maxBytes, options.contentType);
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
  if (options === null || typeof options !== 'object' || !Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) {
    throw invalidArgument('options.maxBytes', 'an integer ≥ 0', options?.maxBytes);
  }
  const hasher = blake3.create();
  const head = new Uint8Array(options.maxBytes + 1);
  let kept = 0;
  let size = 0;
  let done = false;
  return {
    update(chunk) {
      if (done) throw invalidArgument('chunk', 'no update after finish()', chunk);
      const bytes = typeof chunk === 'string' ? utf8.encode(chunk) : chunk;
      if (!(bytes instanceof Uint8Array)) throw invalidArgument('chunk', 'Uint8Array or string', chunk);
      hasher.update(bytes);
      size += bytes.length;
      if (kept < head.length) {
        const take = Math.min(bytes.length, head.length - kept);
        head.set(bytes.subarray(0, take), kept);
        kept += take;
      }
    },
    finish() {
      done = true;
      const digest = toHex(hasher.digest());
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
