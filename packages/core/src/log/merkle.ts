import { AuditError, assertBytes, invalidArgument } from '../errors.js';
import { EMPTY_ROOT, HASH_BYTES, nodeHash } from '../prim/hash.js';

/**
 * RFC 9162 §2.1 Merkle tree over leaf hashes (docs/format.md §4).
 *
 * Sizes and indexes are JavaScript numbers up to 2^53 − 1; all bit arithmetic is done with
 * division, never with 32-bit operators, so trees past 2^32 leaves behave.
 */

/** Anything that can give the hash of the subtree over leaves [lo, hi). */
export interface TreeReader {
  subtree(lo: number, hi: number): Uint8Array;
}

/** Largest power of two strictly smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPow2(n: number): boolean {
  return n > 0 && Number.isSafeInteger(n) && 2 ** Math.round(Math.log2(n)) === n;
}

function assertSize(name: string, n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw invalidArgument(name, 'a safe integer ≥ 0', n);
}

function assertReader(reader: unknown): asserts reader is TreeReader {
  if (reader === null || typeof reader !== 'object' || typeof (reader as TreeReader).subtree !== 'function') throw invalidArgument('reader', 'a TreeReader {subtree(lo, hi)}', reader);
}

/** A TreeReader over an array of leaf hashes; computes every subtree from the leaves (O(n) per root). */
export function leavesReader(leaves: readonly Uint8Array[]): TreeReader {
  assertHashes('leaves', leaves);
  const reader: TreeReader = {
    subtree(lo, hi) {
      if (hi > leaves.length) throw invalidArgument('size', `at most the ${leaves.length} leaves given`, hi);
      if (hi - lo === 1) return leaves[lo]!;
      const k = splitPoint(hi - lo);
      return nodeHash(reader.subtree(lo, lo + k), reader.subtree(lo + k, hi));
    },
  };
  return reader;
}

export function rootOf(reader: TreeReader, size: number): Uint8Array {
  assertReader(reader);
  assertSize('size', size);
  return size === 0 ? EMPTY_ROOT : reader.subtree(0, size);
}

/** RFC 9162 §2.1.3.1 PATH(index, D[size]), bottom-up. */
export function inclusionProof(reader: TreeReader, index: number, size: number): Uint8Array[] {
  assertReader(reader);
  assertSize('size', size);
  assertSize('index', index);
  if (index >= size) throw invalidArgument('index', `an index < size ${size}`, index);
  const path: Uint8Array[] = [];
  const walk = (m: number, lo: number, hi: number): void => {
    if (hi - lo === 1) return;
    const k = splitPoint(hi - lo);
    if (m < k) {
      walk(m, lo, lo + k);
      path.push(reader.subtree(lo + k, hi));
    } else {
      walk(m - k, lo + k, hi);
      path.push(reader.subtree(lo, lo + k));
    }
  };
  walk(index, 0, size);
  return path;
}

/** RFC 9162 §2.1.4.1 PROOF(size1, D[size2]), bottom-up. */
export function consistencyProof(reader: TreeReader, size1: number, size2: number): Uint8Array[] {
  assertReader(reader);
  assertSize('size1', size1);
  assertSize('size2', size2);
  if (size1 === 0 || size1 > size2) throw invalidArgument('size1', `0 < size1 ≤ size2 (${size2})`, size1);
  const proof: Uint8Array[] = [];
  const sub = (m: number, lo: number, hi: number, complete: boolean): void => {
    const n = hi - lo;
    if (m === n) {
      if (!complete) proof.push(reader.subtree(lo, hi));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, lo, lo + k, complete);
      proof.push(reader.subtree(lo + k, hi));
    } else {
      sub(m - k, lo + k, hi, false);
      proof.push(reader.subtree(lo, lo + k));
    }
  };
  sub(size1, 0, size2, true);
  return proof;
}

function proofError(message: string, details: Record<string, unknown> = {}): AuditError {
  return new AuditError('AUDIT_PROOF_INVALID', message, details);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function assertHashes(name: string, proof: unknown): asserts proof is Uint8Array[] {
  if (!Array.isArray(proof)) throw invalidArgument(name, 'an array of 32-byte hashes', proof);
  proof.forEach((p, i) => assertBytes(`${name}[${i}]`, p, HASH_BYTES));
}

const odd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

/** Root implied by an inclusion proof (RFC 9162 §2.1.3.2); throws AUDIT_PROOF_INVALID when the proof has the wrong shape. */
export function rootFromInclusionProof(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  assertSize('index', index);
  assertSize('size', size);
  assertBytes('leafHash', leaf, HASH_BYTES);
  assertHashes('proof', proof);
  if (index >= size) throw proofError(`leaf index ${index} is not below tree size ${size}`);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw proofError('inclusion proof is longer than the tree is deep');
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw proofError('inclusion proof is shorter than the tree is deep');
  return r;
}

export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  assertBytes('root', root, HASH_BYTES);
  const got = rootFromInclusionProof(index, size, leaf, proof);
  if (!equalBytes(got, root)) throw proofError(`inclusion proof for leaf ${index} does not lead to the root of size ${size}`, { index, size });
}

/** RFC 9162 §2.1.4.2 with transparency-dev's policies (no proof from size 0, not even to size 0; equal sizes need an empty proof). */
export function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): void {
  assertSize('size1', size1);
  assertSize('size2', size2);
  // Roots of any length, as in transparency-dev/merkle: equal sizes only compare them with each
  // other, and otherwise a root that is not 32 bytes can never match a computed one.
  assertBytes('root1', root1);
  assertBytes('root2', root2);
  assertHashes('proof', proof);
  if (size2 < size1) throw proofError(`size2 ${size2} < size1 ${size1}`);
  // Before the equal-sizes case: 0 → 0 is an error too (transparency-dev's testdata).
  if (size1 === 0) throw proofError('a consistency proof from the empty tree is meaningless');
  if (size1 === size2) {
    if (proof.length !== 0) throw proofError('sizes are equal but the proof is not empty');
    if (!equalBytes(root1, root2)) throw proofError('sizes are equal but the roots differ');
    return;
  }
  if (root1.length !== HASH_BYTES || root2.length !== HASH_BYTES) throw proofError('a root is not a 32-byte hash', { size1, size2 });
  if (proof.length === 0) throw proofError('empty consistency proof');
  const nodes = isPow2(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = nodes[0]!;
  let sr = nodes[0]!;
  for (const c of nodes.slice(1)) {
    if (sn === 0) throw proofError('consistency proof is too long');
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw proofError('consistency proof is too short');
  if (!equalBytes(fr, root1)) throw proofError(`consistency proof does not lead to the root of size ${size1}`, { size1, size2 });
  if (!equalBytes(sr, root2)) throw proofError(`consistency proof does not lead to the root of size ${size2}`, { size1, size2 });
}

/**
 * The streaming view of a tree: only the roots of the perfect subtrees that make up [0, size)
 * (at most 53 hashes). Enough to compute the root as leaves arrive; the verifier uses it to check
 * a log in one pass with O(log n) memory.
 */
export class CompactRange {
  private readonly stack: Uint8Array[] = [];
  private n = 0;

  get size(): number {
    return this.n;
  }

  append(leaf: Uint8Array): void {
    assertBytes('leaf', leaf, HASH_BYTES);
    let h = leaf;
    let count = this.n;
    while (odd(count)) {
      h = nodeHash(this.stack.pop()!, h);
      count = half(count);
    }
    this.stack.push(h);
    this.n++;
  }

  /** A range of `size` leaves given by its frontier (largest subtree first, as `nodes` returns it). */
  static from(size: number, nodes: readonly Uint8Array[]): CompactRange {
    let bits = 0;
    for (let n = size; n > 0; n = Math.floor(n / 2)) bits += n % 2;
    if (nodes.length !== bits) throw new Error(`a range of ${size} leaves has ${bits} frontier nodes, not ${nodes.length}`);
    const c = new CompactRange();
    c.stack.push(...nodes);
    c.n = size;
    return c;
  }

  /** The frontier: roots of the perfect subtrees of [0, size), largest first. */
  get nodes(): readonly Uint8Array[] {
    return this.stack;
  }

  /** An independent copy (to try leaves without committing them). */
  clone(): CompactRange {
    const c = new CompactRange();
    c.stack.push(...this.stack);
    c.n = this.n;
    return c;
  }

  root(): Uint8Array {
    if (this.n === 0) return EMPTY_ROOT;
    let r = this.stack[this.stack.length - 1]!;
    for (let i = this.stack.length - 2; i >= 0; i--) r = nodeHash(this.stack[i]!, r);
    return r;
  }
}

export { equalBytes };
