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
    } catch {
      text = JSON.stringify(String(body));
    }
    bytes = utf8.encode(text);
    parsed = body;
    hasParsed = true;
  }
  const size = bytes.length;
  const digest = toHex(contentDigest(bytes));
  const truncated = size > options.maxBytes;
  if (!truncated && (hasParsed || isJsonType(options.contentType))) {
    if (hasParsed) return { size, digest, truncated, encoding: 'json', content: parsed };
    try {
      return { size, digest, truncated, encoding: 'json', content: JSON.parse(decoder.decode(bytes)) as unknown };
    } catch {
      /* not JSON after all: fall through to text */
    }
  }
  if (truncated && (hasParsed || isJsonType(options.contentType))) {
    // A cut JSON document cannot be redacted member by member, so no content is kept at all.
    return { size, digest, truncated, encoding: 'utf8', content: '' };
  }
  if (isTextual(options.contentType)) {
    return { size, digest, truncated, encoding: 'utf8', content: decoder.decode(utf8Prefix(bytes, options.maxBytes)) };
  }
  return { size, digest, truncated, encoding: 'base64', content: toBase64(bytes.subarray(0, options.maxBytes)) };
}
