/**
 * A one-pass check that bytes are exactly the RFC 8785 canonical form of a JSON object
 * (docs/format.md §2.1), without building the object. It accepts exactly the byte strings b for
 * which `canonicalBytes(JSON.parse(b))` equals b — the definition parseCanonical() implements by
 * parsing and re-serializing — and a differential test holds the two to that (the one deliberate
 * difference: a leading UTF-8 byte order mark, which parseCanonical's TextDecoder strips and this
 * scanner, comparing bytes as §2.1 says, refuses).
 *
 * Why a second implementation: the export verifier checks every record of a log, and parse plus
 * re-serialize costs ~7 µs for a 500-byte record, against ~1 µs for one pass over the bytes. It
 * also hands back where the members the verifier needs (v, seq, prev, time, action) are, so the
 * chain is checked without decoding the record.
 */

/** JCS nesting limit, as canonicalize() applies it: a container at depth ≥ 64 is refused. */
const MAX_DEPTH = 64;

/** The JSON syntax bytes, shared with the field proof that reads the same bytes (fields-fast.ts). */
export const Q = 0x22; // "
export const BS = 0x5c; // \
export const COMMA = 0x2c;
const COLON = 0x3a;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;

/** Control characters JCS writes with a two-character escape (\b \t \n \f \r); the others as \u00xx. */
const SHORT_ESCAPE = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d]);
const SHORT_ESCAPE_LETTER = new Set([0x62, 0x74, 0x6e, 0x66, 0x72]); // b t n f r

/** Byte classes inside a string: PLAIN bytes (0x20–0x7f except " and \\) need no look. */
const PLAIN = 0;
const CLASS = new Uint8Array(256).fill(1);
for (let c = 0x20; c < 0x80; c++) if (c !== Q && c !== BS) CLASS[c] = PLAIN;

const isDigit = (x: number | undefined): boolean => x !== undefined && x >= 0x30 && x <= 0x39;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Where a top-level member's value is: [start, end) in the bytes, and whether it is a plain (escape-free, ASCII) string. Valid until the next scan. */
export interface Span {
  start: number;
  end: number;
  /** 's' string (span excludes the quotes), 'n' number, 'o' anything else. */
  kind: 's' | 'n' | 'o';
  plain: boolean;
}

const WANTED = ['action', 'prev', 'seq', 'time', 'v'] as const;
export type WantedMember = (typeof WANTED)[number];
const WANTED_BYTES = WANTED.map((w) => Array.from(w, (c) => c.charCodeAt(0)));

export class CanonicalScanner {
  private b: Uint8Array = new Uint8Array(0);
  private pos = 0;
  /** Why the last scan failed and at which byte. */
  error = '';
  errorAt = -1;
  /** Members of the top-level object found by the last successful scan. */
  readonly members: Record<WantedMember, Span | null> = { action: null, prev: null, seq: null, time: null, v: null };
  /** One reusable span per member: a scan allocates nothing for them. */
  private readonly spans: Record<WantedMember, Span> = {
    action: { start: 0, end: 0, kind: 'o', plain: true },
    prev: { start: 0, end: 0, kind: 'o', plain: true },
    seq: { start: 0, end: 0, kind: 'o', plain: true },
    time: { start: 0, end: 0, kind: 'o', plain: true },
    v: { start: 0, end: 0, kind: 'o', plain: true },
  };
  // The last string scanned.
  private sStart = 0;
  private sEnd = 0;
  private sPlain = true;

  /** True when `bytes` is the canonical form of a JSON object. */
  scan(bytes: Uint8Array): boolean {
    this.b = bytes;
    this.pos = 0;
    this.error = '';
    this.errorAt = -1;
    const m = this.members;
    m.action = m.prev = m.seq = m.time = m.v = null;
    if (bytes.length === 0 || bytes[0] !== LBRACE) return this.fail('not a JSON object');
    if (!this.object(0)) return false;
    if (this.pos !== bytes.length) return this.fail('bytes after the end of the object');
    return true;
  }

  private fail(why: string): false {
    this.error = why;
    this.errorAt = this.pos;
    return false;
  }

  private value(depth: number): boolean {
    const c = this.b[this.pos];
    if (c === Q) return this.string();
    if (c === LBRACE) return this.object(depth);
    if (c === LBRACKET) return this.array(depth);
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number();
    if (c === 0x74) return this.literal('true');
    if (c === 0x66) return this.literal('false');
    if (c === 0x6e) return this.literal('null');
    return this.fail(c === undefined ? 'unexpected end' : 'invalid or non-canonical value (whitespace?)');
  }

  private literal(word: string): boolean {
    for (let i = 0; i < word.length; i++) if (this.b[this.pos + i] !== word.charCodeAt(i)) return this.fail(`invalid literal (expected ${word})`);
    this.pos += word.length;
    return true;
  }

  private object(depth: number): boolean {
    if (depth >= MAX_DEPTH) return this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const b = this.b;
    this.pos++;
    if (b[this.pos] === RBRACE) {
      this.pos++;
      return true;
    }
    let prevStart = -1;
    let prevEnd = -1;
    let prevPlain = true;
    for (;;) {
      if (b[this.pos] !== Q) return this.fail('expected a member name');
      if (!this.string()) return false;
      const kStart = this.sStart;
      const kEnd = this.sEnd;
      const kPlain = this.sPlain;
      if (prevStart >= 0 && this.compareKeys(prevStart, prevEnd, prevPlain, kStart, kEnd, kPlain) >= 0) return this.fail('member names are not in RFC 8785 order (or repeat)');
      prevStart = kStart;
      prevEnd = kEnd;
      prevPlain = kPlain;
      if (b[this.pos] !== COLON) return this.fail('expected ":"');
      this.pos++;
      const vStart = this.pos;
      if (!this.value(depth + 1)) return false;
      if (depth === 0) this.capture(kStart, kEnd, kPlain, vStart);
      const c = b[this.pos];
      if (c === COMMA) {
        this.pos++;
        continue;
      }
      if (c === RBRACE) {
        this.pos++;
        return true;
      }
      return this.fail('expected "," or "}"');
    }
  }

  private array(depth: number): boolean {
    if (depth >= MAX_DEPTH) return this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const b = this.b;
    this.pos++;
    if (b[this.pos] === RBRACKET) {
      this.pos++;
      return true;
    }
    for (;;) {
      if (!this.value(depth + 1)) return false;
      const c = b[this.pos];
      if (c === COMMA) {
        this.pos++;
        continue;
      }
      if (c === RBRACKET) {
        this.pos++;
        return true;
      }
      return this.fail('expected "," or "]"');
    }
  }

  private capture(kStart: number, kEnd: number, kPlain: boolean, vStart: number): void {
    if (!kPlain) return;
    const b = this.b;
    const len = kEnd - kStart;
    for (let w = 0; w < WANTED.length; w++) {
      const name = WANTED_BYTES[w]!;
      if (name.length !== len) continue;
      let same = true;
      for (let i = 0; i < len; i++) {
        if (b[kStart + i] !== name[i]) {
          same = false;
          break;
        }
      }
      if (!same) continue;
      const first = b[vStart]!;
      const span = this.spans[WANTED[w]!];
      if (first === Q) {
        span.start = this.sStart;
        span.end = this.sEnd;
        span.kind = 's';
        span.plain = this.sPlain;
      } else {
        span.start = vStart;
        span.end = this.pos;
        span.kind = first === 0x2d || (first >= 0x30 && first <= 0x39) ? 'n' : 'o';
        span.plain = true;
      }
      this.members[WANTED[w]!] = span;
      return;
    }
  }

  /** RFC 8785 member order: UTF-16 code units. For ASCII without escapes that is byte order. */
  private compareKeys(aS: number, aE: number, aPlain: boolean, bS: number, bE: number, bPlain: boolean): number {
    const b = this.b;
    if (aPlain && bPlain) {
      const n = Math.min(aE - aS, bE - bS);
      for (let i = 0; i < n; i++) {
        const d = b[aS + i]! - b[bS + i]!;
        if (d !== 0) return d;
      }
      return aE - aS - (bE - bS);
    }
    const x = this.decodeString(aS, aE, aPlain);
    const y = this.decodeString(bS, bE, bPlain);
    return x < y ? -1 : x > y ? 1 : 0;
  }

  /** The JavaScript string of a scanned string's content [start, end) (without quotes). */
  decodeString(start: number, end: number, plain: boolean): string {
    if (plain) {
      let s = '';
      for (let i = start; i < end; i++) s += String.fromCharCode(this.b[i]!);
      return s;
    }
    // Already validated: the quoted bytes are a JSON string literal.
    return JSON.parse(utf8.decode(this.b.subarray(start - 1, end + 1))) as string;
  }

  /** Scan a string at pos (on its opening quote); sets sStart/sEnd/sPlain. */
  private string(): boolean {
    const b = this.b;
    const n = b.length;
    let p = this.pos + 1;
    const start = p;
    let plain = true;
    for (;;) {
      // The common case, printable ASCII other than " and \, in a tight loop.
      while (p < n && CLASS[b[p]!] === PLAIN) p++;
      if (p >= n) {
        this.pos = p;
        return this.fail('unterminated string');
      }
      const c = b[p]!;
      if (c === Q) break;
      if (c === BS) {
        plain = false;
        const e = b[p + 1];
        if (e === Q || e === BS) p += 2;
        else if (e !== undefined && SHORT_ESCAPE_LETTER.has(e)) p += 2;
        else if (e === 0x75) {
          // Only \u00xx for a control character without a short form, lowercase hex.
          const h = b[p + 5];
          const lo = h !== undefined && h >= 0x30 && h <= 0x39 ? h - 0x30 : h !== undefined && h >= 0x61 && h <= 0x66 ? h - 0x57 : -1;
          const hi = b[p + 4] === 0x30 ? 0 : b[p + 4] === 0x31 ? 1 : -1;
          if (b[p + 2] !== 0x30 || b[p + 3] !== 0x30 || hi < 0 || lo < 0 || SHORT_ESCAPE.has(hi * 16 + lo)) {
            this.pos = p;
            return this.fail('non-canonical \\u escape');
          }
          p += 6;
        } else {
          this.pos = p;
          return this.fail('invalid or non-canonical escape');
        }
      } else if (c < 0x20) {
        this.pos = p;
        return this.fail('unescaped control character in a string');
      } else {
        plain = false;
        const q = this.utf8Char(p);
        if (q < 0) {
          this.pos = p;
          return this.fail('invalid UTF-8');
        }
        p = q;
      }
    }
    this.sStart = start;
    this.sEnd = p;
    this.sPlain = plain;
    this.pos = p + 1;
    return true;
  }

  /** Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, ≤ U+10FFFF); returns the next position or -1. */
  private utf8Char(p: number): number {
    const b = this.b;
    const c = b[p]!;
    const cont = (i: number, lo = 0x80, hi = 0xbf): boolean => {
      const x = b[i];
      return x !== undefined && x >= lo && x <= hi;
    };
    if (c >= 0xc2 && c <= 0xdf) return cont(p + 1) ? p + 2 : -1;
    if (c === 0xe0) return cont(p + 1, 0xa0) && cont(p + 2) ? p + 3 : -1;
    if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(p + 1) && cont(p + 2) ? p + 3 : -1;
    if (c === 0xed) return cont(p + 1, 0x80, 0x9f) && cont(p + 2) ? p + 3 : -1;
    if (c === 0xf0) return cont(p + 1, 0x90) && cont(p + 2) && cont(p + 3) ? p + 4 : -1;
    if (c >= 0xf1 && c <= 0xf3) return cont(p + 1) && cont(p + 2) && cont(p + 3) ? p + 4 : -1;
    if (c === 0xf4) return cont(p + 1, 0x80, 0x8f) && cont(p + 2) && cont(p + 3) ? p + 4 : -1;
    return -1;
  }

  /** A number in JSON grammar whose text is what ECMAScript's Number::toString gives for its value. */
  private number(): boolean {
    const b = this.b;
    const start = this.pos;
    let p = start;
    if (b[p] === 0x2d) p++;
    if (b[p] === 0x30) p++;
    else if (isDigit(b[p])) while (isDigit(b[p])) p++;
    else return this.fail('invalid number');
    let simple = true;
    if (b[p] === 0x2e) {
      simple = false;
      p++;
      if (!isDigit(b[p])) return this.fail('invalid number');
      while (isDigit(b[p])) p++;
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      simple = false;
      p++;
      if (b[p] === 0x2b || b[p] === 0x2d) p++;
      if (!isDigit(b[p])) return this.fail('invalid number');
      while (isDigit(b[p])) p++;
    }
    this.pos = p;
    const neg = b[start] === 0x2d ? 1 : 0;
    const digits = p - start - neg;
    // Integers below 10^15 without a leading zero print as themselves; -0 prints as 0.
    if (simple && digits <= 15 && (b[start + neg] !== 0x30 || (digits === 1 && neg === 0))) return true;
    let text = '';
    for (let i = start; i < p; i++) text += String.fromCharCode(b[i]!);
    if (JSON.stringify(Number(text)) !== text) {
      this.pos = start;
      return this.fail('number not in canonical form');
    }
    return true;
  }

  /** The number value of a captured member (canonical, so Number() of its text is exact). */
  numberOf(span: Span): number {
    const b = this.b;
    if (span.end - span.start <= 15) {
      // A canonical non-negative integer of ≤ 15 digits: exact without building a string.
      let n = 0;
      let i = span.start;
      for (; i < span.end; i++) {
        const d = b[i]! - 0x30;
        if (d < 0 || d > 9) break;
        n = n * 10 + d;
      }
      if (i === span.end) return n;
    }
    let text = '';
    for (let i = span.start; i < span.end; i++) text += String.fromCharCode(this.b[i]!);
    return Number(text);
  }

  /** The string value of a captured string member. */
  stringOf(span: Span): string {
    return this.decodeString(span.start, span.end, span.plain);
  }

  /** Whether a captured plain string member equals `ascii`. */
  equalsAscii(span: Span | null, ascii: string): boolean {
    if (span === null || span.kind !== 's' || !span.plain || span.end - span.start !== ascii.length) return false;
    for (let i = 0; i < ascii.length; i++) if (this.b[span.start + i] !== ascii.charCodeAt(i)) return false;
    return true;
  }

  /** Whether a captured string member is exactly the 64 lowercase-hex characters in `hex` (ASCII bytes). */
  equalsBytes(span: Span | null, bytes: Uint8Array): boolean {
    if (span === null || span.kind !== 's' || !span.plain || span.end - span.start !== bytes.length) return false;
    const b = this.b;
    for (let i = 0; i < bytes.length; i++) if (b[span.start + i] !== bytes[i]) return false;
    return true;
  }
}
