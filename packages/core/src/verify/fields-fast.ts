import { isRfc3339Millis } from '../prim/time.js';
import { BS, COMMA, LBRACE, LBRACKET, Q, RBRACE, RBRACKET } from './canonical-scan.js';

/**
 * A proof, read straight off a record's canonical bytes, that it keeps every member rule of
 * docs/format.md §2.2 — without building the JavaScript object that checkFields (fields.ts)
 * needs. It answers only "proven" (true) or "not proven" (false); it never names a failure.
 * The verifiers call checkFields, the one statement of the rules, whenever this says false, so a
 * record it cannot prove gets exactly checkFields' verdict and message, and a bug here can only
 * make a check slower, unless it calls a record that breaks a rule proven: fields-fast.test.ts
 * compares the two on every vector and on random records at every length and type boundary.
 *
 * The bytes must already have passed CanonicalScanner.scan (RFC 8785 form, strict UTF-8, sorted
 * unique member names); this function relies on that and checks no syntax.
 *
 * Not proven (so left to checkFields), besides every broken rule: a `time` with escapes, a
 * captured body's `size` that is not a plain integer of at most 15 digits.
 */


let b: Uint8Array = new Uint8Array(0);

/** Index just after the string that opens at p (b[p] is its quote). */
function skipString(p: number): number {
  p++;
  for (;;) {
    const c = b[p]!;
    if (c === Q) return p + 1;
    p += c === BS ? 2 : 1;
  }
}

/** Index just after the value that starts at p. */
function skipValue(p: number): number {
  const c = b[p]!;
  if (c === Q) return skipString(p);
  if (c === LBRACE || c === LBRACKET) {
    let depth = 0;
    for (;;) {
      const x = b[p]!;
      if (x === Q) {
        p = skipString(p);
        continue;
      }
      p++;
      if (x === LBRACE || x === LBRACKET) depth++;
      else if ((x === RBRACE || x === RBRACKET) && --depth === 0) return p;
    }
  }
  if (c === 0x74 || c === 0x6e) return p + 4; // true, null
  if (c === 0x66) return p + 5; // false
  // A number: digits, sign, point, exponent.
  p++;
  for (;;) {
    const x = b[p];
    if (x === undefined || !((x >= 0x30 && x <= 0x39) || x === 0x2d || x === 0x2b || x === 0x2e || x === 0x65 || x === 0x45)) return p;
    p++;
  }
}

/** UTF-16 code units of the string whose content is [start, end): what `.length` gives after JSON.parse. */
function units(start: number, end: number): number {
  let n = 0;
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c === BS) {
      n++;
      i += b[i + 1] === 0x75 ? 6 : 2;
    } else if (c < 0x80) {
      n++;
      i++;
    } else if (c >= 0xf0) {
      n += 2; // outside the BMP: a surrogate pair
      i += 4;
    } else {
      n++;
      i += c >= 0xe0 ? 3 : 2;
    }
  }
  return n;
}

/** A string value at p of min…max UTF-16 code units; returns the index after it, or -1. */
function str(p: number, min: number, max: number): number {
  if (b[p] !== Q) return -1;
  const end = skipString(p);
  // Fewer bytes than min cannot be enough; at most max bytes is within max (a code unit takes ≥ 1 byte).
  const bytes = end - p - 2;
  if (bytes >= min && bytes <= max) {
    if (min <= 1 || plainAscii(p + 1, end - 1)) return end;
  }
  const n = units(p + 1, end - 1);
  return n >= min && n <= max ? end : -1;
}

function plainAscii(start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i]! >= 0x80 || b[i] === BS) return false;
  return true;
}

/** Whether the member name [kStart, kEnd) is `name` (ASCII). */
function is(kStart: number, kEnd: number, name: string): boolean {
  if (kEnd - kStart !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (b[kStart + i] !== name.charCodeAt(i)) return false;
  return true;
}

/** A string value at p equal to one of `words` (ASCII); returns the index after it, or -1. */
function oneOf(p: number, words: readonly string[]): number {
  if (b[p] !== Q) return -1;
  const end = skipString(p);
  for (const w of words) if (is(p + 1, end - 1, w)) return end;
  return -1;
}

/** A string of exactly `len` lowercase hex digits, not all zero (`zeroOk`: may be all zero); index after it, or -1. */
function hex(p: number, len: number, zeroOk: boolean): number {
  if (b[p] !== Q || b[p + 1 + len] !== Q) return -1;
  let nonzero = false;
  for (let i = p + 1; i <= p + len; i++) {
    const c = b[i]!;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return -1;
    if (c !== 0x30) nonzero = true;
  }
  return zeroOk || nonzero ? p + len + 2 : -1;
}

/**
 * Walk the object at p, calling `member(kStart, kEnd, valueAt)` for each member; it returns the
 * index after the value, or -1 to stop. Returns the index after the object, or -1.
 */
function members(p: number, member: (kStart: number, kEnd: number, at: number) => number): number {
  if (b[p] !== LBRACE) return -1;
  p++;
  if (b[p] === RBRACE) return p + 1;
  for (;;) {
    const kEnd = skipString(p);
    const next = member(p + 1, kEnd - 1, kEnd + 1);
    if (next < 0) return -1;
    if (b[next] === COMMA) p = next + 1;
    else return next + 1;
  }
}

let count = 0;
let seen = 0;

const actorMember = (k: number, e: number, at: number): number => {
  if (is(k, e, 'id')) return (seen |= 1), str(at, 1, 256);
  if (is(k, e, 'type')) return (seen |= 2), str(at, 1, 256);
  if (is(k, e, 'name')) return str(at, 0, 256);
  if (is(k, e, 'groups')) {
    if (b[at] !== LBRACKET) return -1;
    let p = at + 1;
    if (b[p] === RBRACKET) return p + 1;
    for (let n = 1; ; n++) {
      if (n > 64) return -1;
      p = str(p, 0, 256);
      if (p < 0) return -1;
      if (b[p] === RBRACKET) return p + 1;
      p++;
    }
  }
  return skipValue(at);
};

const targetMember = (k: number, e: number, at: number): number => {
  if (is(k, e, 'type')) return (seen |= 1), str(at, 1, 256);
  if (is(k, e, 'id')) return (seen |= 2), str(at, 1, 256);
  return skipValue(at);
};

const annotationMember = (k: number, e: number, at: number): number => {
  if (++count > 64) return -1;
  const kn = units(k, e);
  if (kn < 1 || kn > 128) return -1;
  return str(at, 0, 4096);
};

const attributeMember = (_k: number, _e: number, at: number): number => {
  if (++count > 128) return -1;
  const c = b[at]!;
  if (c === Q || c === 0x74 || c === 0x66 || c === 0x2d || (c >= 0x30 && c <= 0x39)) return skipValue(at);
  if (c !== LBRACKET) return -1; // null or an object
  let p = at + 1;
  if (b[p] === RBRACKET) return p + 1;
  for (;;) {
    if (b[p] !== Q) return -1;
    p = skipString(p);
    if (b[p] === RBRACKET) return p + 1;
    p++;
  }
};

const capturedMember = (k: number, e: number, at: number): number => {
  if (is(k, e, 'size')) {
    // A plain integer of at most 15 digits: a safe integer ≥ 0 (canonical: no leading zero, no -0).
    let p = at;
    while (b[p]! >= 0x30 && b[p]! <= 0x39) p++;
    const c = b[p];
    if (p === at || p - at > 15 || c === 0x2e || c === 0x65 || c === 0x45) return -1;
    return (seen |= 1), p;
  }
  if (is(k, e, 'digest')) return (seen |= 2), hex(at, 64, true);
  if (is(k, e, 'truncated')) {
    if (b[at] !== 0x74 && b[at] !== 0x66) return -1;
    return (seen |= 4), skipValue(at);
  }
  if (is(k, e, 'encoding')) return (seen |= 8), oneOf(at, ENCODINGS);
  if (is(k, e, 'content')) return (seen |= 16), skipValue(at);
  return skipValue(at);
};

const ENCODINGS = ['json', 'utf8', 'base64'];
const OUTCOME_WORDS = ['success', 'failure', 'aborted'];

function captured(at: number): number {
  seen = 0;
  const end = members(at, capturedMember);
  return end >= 0 && seen === 31 ? end : -1;
}

const bodyMember = (k: number, e: number, at: number): number => {
  if (is(k, e, 'request') || is(k, e, 'response')) return captured(at);
  return skipValue(at);
};

/** Required top-level members, one bit each. */
const ID = 1;
const TIME = 2;
const ACTION = 4;
const OUTCOME = 8;
const ACTOR = 16;
const ANNOTATIONS = 32;
const ATTRIBUTES = 64;
const REQUIRED = ID | TIME | ACTION | OUTCOME | ACTOR | ANNOTATIONS | ATTRIBUTES;
let required = 0;

const topMember = (k: number, e: number, at: number): number => {
  switch (e - k) {
    case 2:
      if (is(k, e, 'id')) return (required |= ID), str(at, 1, 128);
      break;
    case 4:
      if (is(k, e, 'time')) {
        if (b[at] !== Q || b[at + 25] !== Q) return -1;
        let t = '';
        for (let i = at + 1; i <= at + 24; i++) t += String.fromCharCode(b[i]!);
        return isRfc3339Millis(t) ? ((required |= TIME), at + 26) : -1;
      }
      if (is(k, e, 'body')) return members(at, bodyMember);
      break;
    case 5:
      if (is(k, e, 'actor')) {
        seen = 0;
        const end = members(at, actorMember);
        return end >= 0 && seen === 3 ? ((required |= ACTOR), end) : -1;
      }
      break;
    case 6:
      if (is(k, e, 'action')) return (required |= ACTION), str(at, 1, 256);
      if (is(k, e, 'target')) {
        seen = 0;
        const end = members(at, targetMember);
        return end >= 0 && seen === 3 ? end : -1;
      }
      break;
    case 7:
      if (is(k, e, 'outcome')) return (required |= OUTCOME), oneOf(at, OUTCOME_WORDS);
      if (is(k, e, 'span_id')) return hex(at, 16, false);
      break;
    case 8:
      if (is(k, e, 'trace_id')) return hex(at, 32, false);
      break;
    case 10:
      if (is(k, e, 'attributes')) {
        count = 0;
        return (required |= ATTRIBUTES), members(at, attributeMember);
      }
      if (is(k, e, 'request_id')) return str(at, 1, 256);
      break;
    case 11:
      if (is(k, e, 'annotations')) {
        count = 0;
        return (required |= ANNOTATIONS), members(at, annotationMember);
      }
      break;
  }
  return skipValue(at);
};

/** True when the canonical record `bytes` provably keeps every §2.2 rule; false: ask checkFields. */
export function fieldsProven(bytes: Uint8Array): boolean {
  b = bytes;
  required = 0;
  try {
    return members(0, topMember) === bytes.length && required === REQUIRED;
  } finally {
    b = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);
