import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { assertBytes } from '../errors.js';

/**
 * Strict Ed25519 (docs/format.md §6): canonical A and R, A of prime order, S < L, cofactorless
 * equation. Two implementations that accept exactly the same set, proven on the RFC 8032 and
 * ed25519-speccheck vectors: `pure` (@noble/ed25519 plus a prime-order check on R, which turns its
 * cofactored equation into the cofactorless one for canonical inputs) and `native` (node:crypto,
 * already cofactorless and S < L, plus the checks on A that OpenSSL does not make).
 */

ed.hashes.sha512 = sha512;

export const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

export interface Ed25519Backend {
  readonly name: 'pure' | 'native';
  publicKey(seed: Uint8Array): Uint8Array;
  sign(seed: Uint8Array, message: Uint8Array): Uint8Array;
  /** Raw equation check after the shared strict pre-checks. */
  verifyRaw(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** y < p and not (x = 0 with sign bit set); the second needs decoding, so the Point parser checks it. */
export function isCanonicalPointEncoding(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  const copy = bytes.slice();
  copy[31]! &= 0x7f;
  if (littleEndian(copy) >= P) return false;
  try {
    ed.Point.fromBytes(bytes, false);
    return true;
  } catch {
    return false;
  }
}

const primeOrderCache = new Map<string, boolean>();

/** A is canonical and of prime order L (not small order, torsion-free). Cached per key: keys are few. */
export function isStrictPublicKey(publicKey: Uint8Array): boolean {
  const k = bytesToHex(publicKey);
  let ok = primeOrderCache.get(k);
  if (ok === undefined) {
    ok = isCanonicalPointEncoding(publicKey) && isPrimeOrder(publicKey);
    if (primeOrderCache.size > 1024) primeOrderCache.clear();
    primeOrderCache.set(k, ok);
  }
  return ok;
}

function isPrimeOrder(bytes: Uint8Array): boolean {
  const p = ed.Point.fromBytes(bytes, false);
  return !p.isSmallOrder() && p.isTorsionFree();
}

export const pureEd25519: Ed25519Backend = {
  name: 'pure',
  publicKey: (seed) => ed.getPublicKey(seed),
  sign: (seed, message) => ed.sign(message, seed),
  verifyRaw(publicKey, message, signature) {
    try {
      if (!isPrimeOrder(signature.subarray(0, 32))) return false;
      return ed.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};

let active: Ed25519Backend = pureEd25519;

export function setEd25519Backend(b: Ed25519Backend): void {
  active = b;
}

export function getEd25519Backend(): Ed25519Backend {
  return active;
}

/** Strict verification; returns false (never throws) for any bad signature or key. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, backend: Ed25519Backend = active): boolean {
  assertBytes('publicKey', publicKey);
  assertBytes('message', message);
  assertBytes('signature', signature);
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  if (littleEndian(signature.subarray(32)) >= L) return false;
  if (!isCanonicalPointEncoding(signature.subarray(0, 32))) return false;
  if (!isStrictPublicKey(publicKey)) return false;
  return backend.verifyRaw(publicKey, message, signature);
}

export function signEd25519(seed: Uint8Array, message: Uint8Array, backend: Ed25519Backend = active): Uint8Array {
  assertBytes('seed', seed, 32);
  assertBytes('message', message);
  return backend.sign(seed, message);
}

export function publicKeyFromSeed(seed: Uint8Array, backend: Ed25519Backend = active): Uint8Array {
  assertBytes('seed', seed, 32);
  return backend.publicKey(seed);
}
