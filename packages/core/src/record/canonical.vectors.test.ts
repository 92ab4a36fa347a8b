import { readFileSync } from 'node:fs';
import canonicalizeReference from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { prng } from '../../test/support/prng.js';
import { isAuditError } from '../errors.js';
import { toHex } from '../prim/hex.js';
import { canonicalBytes, canonicalize, parseCanonical } from './canonical.js';

/**
 * RFC 8785 (JCS): the reference implementation's testdata (test/vectors/jcs/, byte-exact), the
 * first 10,000 lines of its ES6 number test file, and a differential test against the
 * `canonicalize` npm package on generated values.
 */

const JCS = new URL('../../test/vectors/jcs/', import.meta.url);
const read = (path: string): Buffer => readFileSync(new URL(path, JCS));
const NAMES = ['arrays', 'french', 'structures', 'unicode', 'values', 'weird'] as const;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function expectNotCanonical(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isAuditError(caught, 'AUDIT_NOT_CANONICAL'), String(caught)).toBe(true);
}

describe('JCS testdata (cyberphone/json-canonicalization)', () => {
  for (const name of NAMES) {
    it(`${name}: input canonicalizes to output byte for byte`, () => {
      const input = read(`input/${name}.json`);
      const output = read(`output/${name}.json`);
      const outhex = read(`outhex/${name}.txt`).toString('ascii').trim().split(/\s+/).join('');
      expect(toHex(output)).toBe(outhex);
      const bytes = canonicalBytes(JSON.parse(utf8.decode(input)));
      expect(toHex(bytes)).toBe(toHex(output));
      expect(canonicalize(JSON.parse(utf8.decode(input)))).toBe(utf8.decode(output));
    });

    it(`${name}: parseCanonical accepts the output and rejects the (non-canonical) input`, () => {
      const input = read(`input/${name}.json`);
      const output = read(`output/${name}.json`);
      expect(parseCanonical(new Uint8Array(output))).toEqual(JSON.parse(utf8.decode(output)));
      expect(input.equals(output)).toBe(false);
      expectNotCanonical(() => parseCanonical(new Uint8Array(input)));
    });
  }
});

describe('ES6 number serialization (es6numbers-sample.txt, 10,000 lines)', () => {
  const lines = read('es6numbers-sample.txt').toString('ascii').split('\n').filter((l) => l.length > 0);

  it('has 10,000 lines', () => {
    expect(lines).toHaveLength(10_000);
  });

  it('canonicalize(double) is the expected text for every line', () => {
    const view = new DataView(new ArrayBuffer(8));
    const wrong: string[] = [];
    for (const line of lines) {
      const [hex, expected] = line.split(',') as [string, string];
      view.setBigUint64(0, BigInt(`0x${hex}`));
      const d = view.getFloat64(0);
      if (canonicalize(d) !== expected || canonicalize([d]) !== `[${expected}]`) wrong.push(line);
    }
    expect(wrong).toEqual([]);
  });
});


const SPECIAL_NUMBERS = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 1e-6, 9007199254740991, -9007199254740992, 5e-324, -5e-324, 1.7976931348623157e308, 2.2250738585072014e-308, 123456789.123, 4.35, 333333333.3333333];
const CODE_POINTS = [0x00, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x1f, 0x22, 0x2f, 0x5c, 0x7f, 0x80, 0xe9, 0x2028, 0x2029, 0xfb33, 0xfeff, 0xffff, 0x1f602, 0x10000, 0x10ffff];

function randomString(r: () => number): string {
  const n = Math.floor(r() * 8);
  let s = '';
  for (let i = 0; i < n; i++) {
    const pick = r();
    if (pick < 0.5) s += String.fromCharCode(0x20 + Math.floor(r() * 95));
    else if (pick < 0.8) s += String.fromCodePoint(CODE_POINTS[Math.floor(r() * CODE_POINTS.length)]!);
    else {
      // Any code point outside the surrogate block, so strings stay well-formed.
      let cp = Math.floor(r() * 0x110000);
      if (cp >= 0xd800 && cp <= 0xdfff) cp += 0x800;
      s += String.fromCodePoint(cp);
    }
  }
  return s;
}

function randomNumber(r: () => number): number {
  const pick = r();
  if (pick < 0.25) return SPECIAL_NUMBERS[Math.floor(r() * SPECIAL_NUMBERS.length)]!;
  if (pick < 0.5) return Math.floor((r() - 0.5) * 2 ** 40);
  if (pick < 0.75) return (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
  // Arbitrary finite bit patterns: subnormals, huge and tiny exponents.
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, Math.floor(r() * 2 ** 32));
  view.setUint32(4, Math.floor(r() * 2 ** 32));
  const d = view.getFloat64(0);
  return Number.isFinite(d) ? d : 0;
}

function randomValue(r: () => number, depth: number): unknown {
  const pick = r() * (depth > 5 ? 0.6 : 1);
  if (pick < 0.1) return null;
  if (pick < 0.2) return r() < 0.5;
  if (pick < 0.4) return randomNumber(r);
  if (pick < 0.6) return randomString(r);
  if (pick < 0.8) return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth + 1));
  const obj: Record<string, unknown> = {};
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    const key = randomString(r);
    if (key !== '__proto__') obj[key] = randomValue(r, depth + 1);
  }
  return obj;
}

describe('differential test against the canonicalize package', () => {
  it('agrees on 3,000 generated values, and the result round-trips through parseCanonical', () => {
    const r = prng(0x8785);
    for (let i = 0; i < 3000; i++) {
      const value = randomValue(r, 0);
      const ours = canonicalize(value);
      expect(ours, `value #${i}`).toBe(canonicalizeReference(value));
      const bytes = canonicalBytes(value);
      expect(canonicalize(parseCanonical(bytes)), `value #${i}`).toBe(ours);
    }
  });

  it('both refuse lone surrogates, NaN and ±Infinity (ours with AUDIT_NOT_CANONICAL)', () => {
    for (const bad of ['\ud800', 'a\udc00b', { '\ud83d': 1 }, [NaN], { x: Infinity }, -Infinity]) {
      expect(() => canonicalizeReference(bad)).toThrow();
      expectNotCanonical(() => canonicalize(bad));
    }
  });
});
