// The one-pass canonical scanner must accept exactly what parseCanonical accepts (for objects):
// checked on the RFC 8785 vectors, on real records, on hand-picked edge cases, and differentially
// on thousands of seeded random values and mutations of their bytes.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, parseCanonical } from '../record/canonical.js';
import { CanonicalScanner } from './canonical-scan.js';
import { buildRecords } from '../../test/support/export-log.js';

const enc = new TextEncoder();
const scanner = new CanonicalScanner();

/** The reference verdict: canonical JSON of an object. */
function reference(bytes: Uint8Array): boolean {
  try {
    const v = parseCanonical(bytes);
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  } catch {
    return false;
  }
}

describe('CanonicalScanner', () => {
  it('accepts the RFC 8785 output vectors that are objects, and extracts nothing it was not asked for', () => {
    const dir = new URL('../../test/vectors/jcs/output/', import.meta.url);
    for (const f of readdirSync(dir)) {
      const bytes = new Uint8Array(readFileSync(new URL(f, dir)));
      expect(scanner.scan(bytes), `${f}: ${scanner.error}`).toBe(reference(bytes));
    }
  });

  it('accepts real records and finds v, seq, prev, time and action', () => {
    for (const r of buildRecords(20)) {
      expect(scanner.scan(r), scanner.error).toBe(true);
      const rec = JSON.parse(new TextDecoder().decode(r)) as Record<string, unknown>;
      const m = scanner.members;
      expect(scanner.numberOf(m.v!)).toBe(1);
      expect(scanner.numberOf(m.seq!)).toBe(rec['seq']);
      expect(scanner.stringOf(m.prev!)).toBe(rec['prev']);
      expect(scanner.stringOf(m.time!)).toBe(rec['time']);
      expect(scanner.equalsAscii(m.action, rec['action'] as string)).toBe(true);
    }
  });

  const cases: [string, string, boolean][] = [
    ['empty object', '{}', true],
    ['empty input', '', false],
    ['array', '[1]', false],
    ['string', '"x"', false],
    ['number', '5', false],
    ['null', 'null', false],
    ['space after {', '{ "a":1}', false],
    ['trailing newline', '{"a":1}\n', false],
    ['trailing garbage', '{"a":1}x', false],
    ['keys out of order', '{"b":1,"a":2}', false],
    ['duplicate key', '{"a":1,"a":1}', false],
    ['key order by UTF-16 not bytes', '{"\u{1F600}":1,"\uFB33":2}', true],
    ['key order wrong by UTF-16', '{"\uFB33":2,"\u{1F600}":1}', false],
    ['escaped key order', '{"\\n":1,"a":2}', true],
    ['number 1.0', '{"a":1.0}', false],
    ['number 1e2', '{"a":1e2}', false],
    ['number 1e+21', '{"a":1e+21}', true],
    ['number 1E+21', '{"a":1E+21}', false],
    ['number -0', '{"a":-0}', false],
    ['number 0', '{"a":0}', true],
    ['number 007', '{"a":007}', false],
    ['number 1e400', '{"a":1e400}', false],
    ['number 9007199254740993', '{"a":9007199254740993}', false],
    ['number 123456789012345678', '{"a":123456789012345680}', true],
    ['number 0.000001', '{"a":0.000001}', true],
    ['number 1e-7', '{"a":1e-7}', true],
    ['number .5', '{"a":.5}', false],
    ['number 5.', '{"a":5.}', false],
    ['escape \\/', '{"a":"\\/"}', false],
    ['escape \\u0041', '{"a":"\\u0041"}', false],
    ['escape \\u000a', '{"a":"\\u000a"}', false],
    ['escape \\u001f', '{"a":"\\u001f"}', true],
    ['escape \\u001F', '{"a":"\\u001F"}', false],
    ['escape \\n', '{"a":"\\n"}', true],
    ['escape surrogate pair', '{"a":"\\ud83d\\ude00"}', false],
    ['literal emoji', '{"a":"\u{1F600}"}', true],
    ['literal DEL', '{"a":"\u007f"}', true],
    ['literal U+2028', '{"a":"\u2028"}', true],
    ['raw tab in string', '{"a":"\t"}', false],
    ['true', '{"a":true}', true],
    ['tru', '{"a":tru}', false],
    ['nested', '{"a":{"b":[1,{"c":null}]},"b":[]}', true],
  ];
  it.each(cases)('%s', (_name, text, want) => {
    const bytes = enc.encode(text);
    expect(scanner.scan(bytes)).toBe(want);
    expect(reference(bytes)).toBe(want);
  });

  it('refuses invalid UTF-8 (overlong, surrogate, beyond U+10FFFF, truncated) like the reference', () => {
    for (const bad of [
      [0xc0, 0xaf],
      [0xe0, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xe2, 0x82],
      [0x80],
    ]) {
      const bytes = new Uint8Array([...enc.encode('{"a":"'), ...bad, ...enc.encode('"}')]);
      expect(scanner.scan(bytes)).toBe(false);
      expect(reference(bytes)).toBe(false);
    }
  });

  it('nests up to the same depth as canonicalize()', () => {
    const deep = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    for (const n of [63, 64, 65]) {
      const bytes = enc.encode(deep(n));
      expect(scanner.scan(bytes), String(n)).toBe(reference(bytes));
    }
  });

  it('refuses a leading byte order mark, which §2.1 excludes (parseCanonical strips it: the one known difference)', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode('{"a":1}')]);
    expect(scanner.scan(bytes)).toBe(false);
  });

  it('agrees with parseCanonical on 6000 seeded random values and byte mutations of them', () => {
    let state = 0x1234567;
    const rand = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const strings = ['', 'a', 'A', 'é', '\n', '\u0001', '"', '\\', '/', '\u2028', '\u{1F600}', '\uFB33', 'time', 'v', 'seq', 'prev', 'x y', '\u007f'];
    const numbers = [0, 1, -1, 1.5, 1e21, 1e-7, 123456789, -0.5, 2 ** 53, 333333333.3333333, 5e-324];
    const value = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.3) return pick([...numbers, ...strings, true, false, null] as unknown[]);
      if (r < 0.5) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(rand() * 5); i > 0; i--) o[pick(strings) + (rand() < 0.3 ? pick(strings) : '')] = value(depth + 1);
      return o;
    };
    const mutations = [
      (t: string) => t.replace(':', ': '),
      (t: string) => t.replace(/(\d)(?=[,}\]])/, '$1.0'),
      (t: string) => t.replace('"a"', '"\\u0061"'),
      (t: string) => t.replace('/', '\\/'),
      (t: string) => t.replace(/\\n/, '\\u000a'),
      (t: string) => t.replace(/"([^"\\]+)":([^,{}]+),"([^"\\]+)":([^,{}]+)/, '"$3":$4,"$1":$2'),
      (t: string) => t.replace('1', '01'),
      (t: string) => t.replace('-', '-0'),
      (t: string) => t.replace('e+', 'E+'),
      (t: string) => `${t} `,
    ];
    let disagreements: string[] = [];
    let accepted = 0;
    for (let i = 0; i < 2000; i++) {
      const v = { a: value(0), seq: i, time: pick(strings), v: pick([1, 2, '1']) };
      const bytes = canonicalBytes(v);
      const text = new TextDecoder().decode(bytes);
      const variants: Uint8Array[] = [bytes, enc.encode(pick(mutations)(text))];
      const flipped = bytes.slice();
      const at = Math.floor(rand() * flipped.length);
      flipped[at]! ^= 1 << Math.floor(rand() * 8);
      variants.push(flipped);
      for (const b of variants) {
        const want = reference(b);
        if (scanner.scan(b) !== want) disagreements.push(`${JSON.stringify(new TextDecoder().decode(b))}: reference ${want}`);
        if (want) accepted++;
      }
      if (disagreements.length > 5) break;
    }
    expect(disagreements).toEqual([]);
    expect(accepted).toBeGreaterThan(2000);
    disagreements = [];
  });
});
