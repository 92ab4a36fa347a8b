import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../prim/hex.js';
import { nativeEd25519 } from './ed25519-native.js';
import { L, isCanonicalPointEncoding, isStrictPublicKey, publicKeyFromSeed, pureEd25519, signEd25519, verifyEd25519, type Ed25519Backend } from './ed25519.js';

/**
 * Ed25519 (format.md §6) through both backends: the five RFC 8032 §7.1 vectors, and the twelve
 * ed25519-speccheck cases against the row we implement (test/vectors/ed25519/speccheck-expected.json).
 */

const ED = new URL('../../test/vectors/ed25519/', import.meta.url);
const readJson = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, ED), 'utf8')) as T;

interface Rfc8032Case {
  name: string;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}
interface SpeccheckCase {
  message: string;
  pub_key: string;
  signature: string;
}
type Reason = 'A_non_canonical' | 'R_non_canonical' | 'A_not_prime_order' | 'S_not_below_L';
interface SpeccheckExpected {
  cases: { index: number; accept: boolean; reason: Reason }[];
}

const rfc8032 = readJson<Rfc8032Case[]>('rfc8032.json');
const speccheck = readJson<SpeccheckCase[]>('speccheck-cases.json');
const expected = readJson<SpeccheckExpected>('speccheck-expected.json');

const hex = (s: string): Uint8Array => {
  const b = fromHex(s);
  if (b === null) throw new Error(`bad hex in vector: ${s.slice(0, 16)}…`);
  return b;
};

function flipBit(bytes: Uint8Array, index: number, bit = 0): Uint8Array {
  const out = bytes.slice();
  out[index]! ^= 1 << bit;
  return out;
}

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** The first rule of format.md §6 a case breaks, in the document's order, using the predicates the verifier uses. */
function firstBrokenRule(pub: Uint8Array, sig: Uint8Array): Reason | null {
  if (!isCanonicalPointEncoding(pub)) return 'A_non_canonical';
  if (!isCanonicalPointEncoding(sig.subarray(0, 32))) return 'R_non_canonical';
  if (!isStrictPublicKey(pub)) return 'A_not_prime_order';
  if (littleEndian(sig.subarray(32)) >= L) return 'S_not_below_L';
  return null;
}

const backends: Ed25519Backend[] = [pureEd25519, nativeEd25519];

describe('RFC 8032 §7.1 vectors', () => {
  it('has the five tests', () => {
    expect(rfc8032.map((c) => c.name)).toEqual(['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)']);
  });

  for (const backend of backends) {
    for (const c of rfc8032) {
      it(`${backend.name}: ${c.name} derives the key, signs byte for byte and verifies`, () => {
        const seed = hex(c.secretKey);
        const pub = hex(c.publicKey);
        const msg = hex(c.message);
        const sig = hex(c.signature);
        expect(toHex(publicKeyFromSeed(seed, backend))).toBe(c.publicKey);
        expect(toHex(signEd25519(seed, msg, backend))).toBe(c.signature);
        expect(verifyEd25519(pub, msg, sig, backend)).toBe(true);
      });

      it(`${backend.name}: ${c.name} rejects one-bit flips of R, S, the key and the message`, () => {
        const pub = hex(c.publicKey);
        const msg = hex(c.message);
        const sig = hex(c.signature);
        for (const i of [0, 17, 31, 32, 45, 63]) expect(verifyEd25519(pub, msg, flipBit(sig, i), backend), `signature byte ${i}`).toBe(false);
        for (const i of [0, 16, 31]) expect(verifyEd25519(flipBit(pub, i), msg, sig, backend), `key byte ${i}`).toBe(false);
        if (msg.length > 0) {
          expect(verifyEd25519(pub, flipBit(msg, 0), sig, backend)).toBe(false);
          expect(verifyEd25519(pub, flipBit(msg, msg.length - 1, 7), sig, backend)).toBe(false);
        }
        expect(verifyEd25519(pub, Uint8Array.of(...msg, 0), sig, backend)).toBe(false);
      });
    }
  }
});

describe('ed25519-speccheck cases 0–11', () => {
  it('the expected row covers all twelve cases, and format.md §6 says it rejects all of them', () => {
    expect(speccheck).toHaveLength(12);
    expect(expected.cases.map((c) => c.index)).toEqual([...Array(12).keys()]);
    expect(expected.cases.every((c) => !c.accept)).toBe(true);
  });

  for (const e of expected.cases) {
    const c = speccheck[e.index]!;
    it(`case ${e.index}: ${e.accept ? 'accepted' : `rejected (${e.reason})`} by both backends`, () => {
      const pub = hex(c.pub_key);
      const msg = hex(c.message);
      const sig = hex(c.signature);
      expect(firstBrokenRule(pub, sig)).toBe(e.accept ? null : e.reason);
      for (const backend of backends) expect(verifyEd25519(pub, msg, sig, backend), backend.name).toBe(e.accept);
    });
  }
});
