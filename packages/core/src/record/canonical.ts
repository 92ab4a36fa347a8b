import { AuditError, assertBytes, describe } from '../errors.js';

/**
 * RFC 8785 (JCS) canonical JSON. One implementation, used by the writer and the verifier.
 *
 * JavaScript already gives two of JCS's three hard parts: `JSON.stringify(number)` is exactly the
 * ES6 Number serialization JCS mandates, and the default `Array.prototype.sort` compares strings by
 * UTF-16 code units, which is JCS's member order. What we add is refusing everything JCS cannot
 * express (NaN, ±Infinity, lone surrogates, undefined, functions, bigint, cycles) instead of
 * letting JSON.stringify silently turn it into something else.
 */

const MAX_DEPTH = 64;

export function canonicalize(value: unknown): string {
  try {
    return write(value, 0, []);
  } catch (err) {
    if (err instanceof Refusal) throw notCanonical(`$${err.path.join('')}`, err.what);
    throw err;
  }
}

/**
 * Internal: what was refused and where. The path is built only while the error unwinds, so the
 * common case (nothing refused) allocates no path strings — this function runs for every record.
 */
class Refusal {
  readonly path: string[] = [];
  constructor(readonly what: string) {}
}

const encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF in the text (the default strips it), so BOM-prefixed bytes fail as non-canonical.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalize(value));
}

/** Printable ASCII other than `"` and `\`: JCS writes such a string verbatim between quotes. */
export const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

export function canonicalString(s: string, path = '$'): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`;
  if (!s.isWellFormed()) throw notCanonical(path, 'a string with a lone surrogate');
  return JSON.stringify(s);
}

export function canonicalNumber(n: number, path = '$'): string {
  if (!Number.isFinite(n)) throw notCanonical(path, `the number ${String(n)}`);
  // JCS writes a number as ECMAScript's Number::toString, which is what JSON.stringify does for a
  // finite number (and -0 → "0" in both); String() is the same answer ~10× cheaper.
  return String(n);
}

function writeString(s: string): string {
  if (PLAIN_ASCII.test(s)) return `"${s}"`;
  if (!s.isWellFormed()) throw new Refusal('a string with a lone surrogate');
  return JSON.stringify(s);
}

function write(value: unknown, depth: number, ancestors: object[]): string {
  switch (typeof value) {
    case 'string':
      return writeString(value);
    case 'number':
      if (!Number.isFinite(value)) throw new Refusal(`the number ${String(value)}`);
      return String(value); // = JSON.stringify for a finite number (see canonicalNumber)
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new Refusal(describe(value));
  }
  if (value === null) return 'null';
  // A cycle always ends up here too; only then is it worth telling the two apart.
  if (depth >= MAX_DEPTH) throw new Refusal(ancestors.includes(value) ? 'a cycle' : `nesting deeper than ${MAX_DEPTH}`);
  ancestors.push(value);
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      try {
        out += write(value[i], depth + 1, ancestors);
      } catch (err) {
        if (err instanceof Refusal) err.path.unshift(`[${i}]`);
        throw err;
      }
    }
    out += ']';
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      ancestors.pop();
      throw new Refusal(`an object of class ${proto?.constructor?.name ?? 'unknown'}`);
    }
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).sort();
    out = '{';
    let first = true;
    for (const key of keys) {
      const v = obj[key];
      if (v === undefined) continue; // absent, as JSON.stringify and JCS treat it
      if (!first) out += ',';
      first = false;
      try {
        out += writeString(key) + ':' + write(v, depth + 1, ancestors);
      } catch (err) {
        if (err instanceof Refusal) err.path.unshift(`.${key}`);
        throw err;
      }
    }
    out += '}';
  }
  ancestors.pop();
  return out;
}

function notCanonical(path: string, what: string): AuditError {
  return new AuditError('AUDIT_NOT_CANONICAL', `${path}: ${what} cannot be written as RFC 8785 canonical JSON`, { path });
}

/** Parse canonical bytes; throws AUDIT_NOT_CANONICAL unless the bytes are valid UTF-8 JSON in exactly canonical form. */
export function parseCanonical(bytes: Uint8Array): unknown {
  assertBytes('bytes', bytes);
  let text: string;
  let value: unknown;
  try {
    text = decoder.decode(bytes);
    value = JSON.parse(text);
  } catch (err) {
    throw new AuditError('AUDIT_NOT_CANONICAL', `bytes are not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (canonicalize(value) !== text) throw new AuditError('AUDIT_NOT_CANONICAL', 'bytes are valid JSON but not in RFC 8785 canonical form');
  return value;
}
