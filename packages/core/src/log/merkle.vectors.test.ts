import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAuditError } from '../errors.js';
import { createFastBackend } from '../prim/hash-fast.js';
import { EMPTY_ROOT, getHashBackend, leafHash, setHashBackend } from '../prim/hash.js';
import { fromHex, toHex } from '../prim/hex.js';
import { CompactRange, consistencyProof, inclusionProof, leavesReader, rootOf, verifyConsistency, verifyInclusion, type TreeReader } from './merkle.js';
import { RetainedTree } from './tree.js';

/**
 * RFC 6962 / RFC 9162 Merkle tree (format.md §4): the classic 8-leaf reference tree
 * (test/vectors/merkle/rfc6962.json), every transparency-dev/merkle verification probe
 * (testdata/inclusion and testdata/consistency, byte-exact), and RetainedTree's eviction invariant.
 */

const MERKLE = new URL('../../test/vectors/merkle/', import.meta.url);

interface Rfc6962 {
  emptyTreeRoot: string;
  leaves: string[];
  leafHashes: string[];
  nodeHashes: { level: number; hashes: string[] }[];
  roots: { size: number; hash: string }[];
  inclusion: { index: number; size: number; path: string[] }[];
  consistency: { size1: number; size2: number; proof: string[] }[];
}
interface InclusionProbe {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}
interface ConsistencyProbe {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

const ref = JSON.parse(readFileSync(new URL('rfc6962.json', MERKLE), 'utf8')) as Rfc6962;

const hex = (s: string): Uint8Array => {
  const b = fromHex(s);
  if (b === null) throw new Error(`bad hex in vector: ${s.slice(0, 16)}…`);
  return b;
};
const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

/** Every probe file under testdata/<kind>/, with its path relative to that folder. */
function probes<T>(kind: 'inclusion' | 'consistency'): [string, T][] {
  const root = new URL(`testdata/${kind}/`, MERKLE);
  return (readdirSync(root, { recursive: true }) as string[])
    .filter((p) => p.endsWith('.json'))
    .sort()
    .map((p) => [p, JSON.parse(readFileSync(new URL(p, root), 'utf8')) as T]);
}

/** wantErr ⇒ an AuditError the verifier documents; otherwise no error at all. */
function expectOutcome(wantErr: boolean, fn: () => void): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  if (!wantErr) {
    expect(caught).toBeUndefined();
    return;
  }
  expect(isAuditError(caught, 'AUDIT_PROOF_INVALID') || isAuditError(caught, 'AUDIT_INVALID_ARGUMENT'), String(caught)).toBe(true);
}

const leafHashes = ref.leaves.map((l) => leafHash(hex(l)));

function retainedTree(leaves: readonly Uint8Array[], evictTo = 0): RetainedTree {
  const t = new RetainedTree();
  for (const l of leaves) t.append(l);
  t.evict(evictTo);
  return t;
}

function compactRoot(leaves: readonly Uint8Array[]): Uint8Array {
  const c = new CompactRange();
  for (const l of leaves) c.append(l);
  expect(c.size).toBe(leaves.length);
  return c.root();
}

describe('RFC 6962 reference tree (8 leaves)', () => {
  it('empty root is SHA-256("") through every tree type', () => {
    expect(toHex(EMPTY_ROOT)).toBe(ref.emptyTreeRoot);
    expect(toHex(rootOf(leavesReader([]), 0))).toBe(ref.emptyTreeRoot);
    expect(toHex(new CompactRange().root())).toBe(ref.emptyTreeRoot);
    expect(toHex(new RetainedTree().root())).toBe(ref.emptyTreeRoot);
  });

  it('leaf hashes are SHA-256(0x00 ‖ leaf) of the raw leaves', () => {
    expect(leafHashes.map(toHex)).toEqual(ref.leafHashes);
  });

  it('every node hash is the subtree hash at its level and position', () => {
    const readers: [string, TreeReader][] = [
      ['leavesReader', leavesReader(leafHashes)],
      ['RetainedTree', retainedTree(leafHashes)],
    ];
    expect(ref.nodeHashes.reduce((n, l) => n + l.hashes.length, 0)).toBe(15);
    for (const [name, reader] of readers) {
      for (const { level, hashes } of ref.nodeHashes) {
        hashes.forEach((h, j) => {
          const w = 2 ** level;
          expect(toHex(reader.subtree(j * w, (j + 1) * w)), `${name} level ${level} node ${j}`).toBe(h);
        });
      }
    }
  });

  it('roots for sizes 1..8 via rootOf(leavesReader), CompactRange and RetainedTree', () => {
    expect(ref.roots.map((r) => r.size)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const full = retainedTree(leafHashes);
    for (const { size, hash } of ref.roots) {
      const prefix = leafHashes.slice(0, size);
      expect(toHex(rootOf(leavesReader(prefix), size)), `leavesReader size ${size}`).toBe(hash);
      expect(toHex(rootOf(leavesReader(leafHashes), size)), `leavesReader(8) size ${size}`).toBe(hash);
      expect(toHex(compactRoot(prefix)), `CompactRange size ${size}`).toBe(hash);
      expect(toHex(retainedTree(prefix).root()), `RetainedTree size ${size}`).toBe(hash);
      expect(toHex(full.root(size)), `RetainedTree(8).root(${size})`).toBe(hash);
    }
  });

  const rootOfSize = (n: number): Uint8Array => hex(ref.roots.find((r) => r.size === n)!.hash);

  it('regenerates and verifies the 5 listed inclusion proofs', () => {
    expect(ref.inclusion).toHaveLength(5);
    for (const { index, size, path } of ref.inclusion) {
      for (const reader of [leavesReader(leafHashes), retainedTree(leafHashes)]) {
        expect(inclusionProof(reader, index, size).map(toHex), `(${index}, ${size})`).toEqual(path);
      }
      expect(() => verifyInclusion(index, size, leafHashes[index]!, path.map(hex), rootOfSize(size))).not.toThrow();
    }
  });

  it('regenerates and verifies the 5 listed consistency proofs', () => {
    expect(ref.consistency).toHaveLength(5);
    for (const { size1, size2, proof } of ref.consistency) {
      for (const reader of [leavesReader(leafHashes), retainedTree(leafHashes)]) {
        expect(consistencyProof(reader, size1, size2).map(toHex), `(${size1}, ${size2})`).toEqual(proof);
      }
      expect(() => verifyConsistency(size1, size2, rootOfSize(size1), rootOfSize(size2), proof.map(hex))).not.toThrow();
    }
  });

  it('every inclusion and consistency proof of the tree (m ≤ n ≤ 8) verifies', () => {
    const reader = leavesReader(leafHashes);
    for (let n = 1; n <= 8; n++) {
      for (let i = 0; i < n; i++) verifyInclusion(i, n, leafHashes[i]!, inclusionProof(reader, i, n), rootOfSize(n));
      for (let m = 1; m <= n; m++) verifyConsistency(m, n, rootOfSize(m), rootOfSize(n), consistencyProof(reader, m, n));
    }
  });
});

describe('transparency-dev/merkle probes', () => {
  const inclusion = probes<InclusionProbe>('inclusion');
  const consistency = probes<ConsistencyProbe>('consistency');

  it('has the 98 + 98 probe files', () => {
    expect(inclusion).toHaveLength(98);
    expect(consistency).toHaveLength(98);
  });

  // Named per probe so a failure says which file.
  for (const [path, p] of inclusion) {
    it.concurrent(`inclusion/${path}: ${p.wantErr ? 'rejected' : 'accepted'}`, () => {
      expectOutcome(p.wantErr, () => verifyInclusion(p.leafIdx, p.treeSize, b64(p.leafHash), (p.proof ?? []).map(b64), b64(p.root)));
    });
  }
  for (const [path, p] of consistency) {
    it.concurrent(`consistency/${path}: ${p.wantErr ? 'rejected' : 'accepted'}`, () => {
      expectOutcome(p.wantErr, () => verifyConsistency(p.size1, p.size2, b64(p.root1), b64(p.root2), (p.proof ?? []).map(b64)));
    });
  }
});

describe('regressions', () => {
  it('a consistency proof from size 0 is an error even to size 0 with equal 32-byte roots (transparency-dev policy)', () => {
    expectOutcome(true, () => verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, []));
    expectOutcome(true, () => verifyConsistency(0, 1, EMPTY_ROOT, leafHashes[0]!, []));
  });

  it('equal sizes compare the roots only with each other, whatever their length (transparency-dev)', () => {
    expectOutcome(false, () => verifyConsistency(1, 1, Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3), []));
    expectOutcome(true, () => verifyConsistency(1, 1, Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4), []));
  });

  it('RetainedTree gives the root at exactly the evicted size when that is not a power of two', () => {
    for (const e of [3, 5, 6, 7]) expect(toHex(retainedTree(leafHashes, e).root(e)), `evicted ${e}`).toBe(ref.roots.find((r) => r.size === e)!.hash);
  });
});

describe('RetainedTree eviction invariant (property)', () => {
  const N = 40;
  const leaves = Array.from({ length: N }, (_, i) => leafHash(Uint8Array.of(i, i >> 8, 0x5a)));
  const original = getHashBackend();
  beforeAll(async () => setHashBackend(await createFastBackend()));
  afterAll(() => setHashBackend(original));

  it(`evicting at every index 0..n keeps every root and inclusion proof equal to leavesReader's (n ≤ ${N})`, () => {
    // Expected values from a memoized leavesReader: root and proofs of a size do not depend on later leaves.
    const plain = leavesReader(leaves);
    const memo = new Map<string, Uint8Array>();
    const reader: TreeReader = {
      subtree(lo, hi) {
        const k = `${lo}:${hi}`;
        let h = memo.get(k);
        if (h === undefined) memo.set(k, (h = plain.subtree(lo, hi)));
        return h;
      },
    };
    const roots = Array.from({ length: N + 1 }, (_, s) => toHex(rootOf(reader, s)));
    const proof = (i: number, s: number): string => inclusionProof(reader, i, s).map(toHex).join();

    for (let e = 0; e <= N; e++) {
      // Evict once the first e leaves are in, then keep appending: every size n ≥ e is one tree.
      const t = new RetainedTree();
      for (let i = 0; i < e; i++) t.append(leaves[i]!);
      t.evict(e);
      expect(t.evicted).toBe(e);
      if (e > 0) expect(toHex(t.root()), `e=${e}`).toBe(roots[e]);
      for (let n = e + 1; n <= N; n++) {
        t.append(leaves[n - 1]!);
        for (let s = Math.max(e, 1); s <= n; s++) expect(toHex(t.root(s)), `e=${e} n=${n} root(${s})`).toBe(roots[s]);
        for (let i = e; i < n; i++) expect(inclusionProof(t, i, n).map(toHex).join(), `e=${e} n=${n} leaf ${i}`).toBe(proof(i, n));
      }
      // And evicting a fully built tree at e gives the same answers.
      const built = retainedTree(leaves, e);
      for (let s = Math.max(e, 1); s <= N; s++) expect(toHex(built.root(s)), `built e=${e} root(${s})`).toBe(roots[s]);
      for (let i = e; i < N; i++) expect(inclusionProof(built, i, N).map(toHex).join(), `built e=${e} leaf ${i}`).toBe(proof(i, N));
      for (let m = Math.max(e, 1); m <= N; m++) {
        expect(consistencyProof(built, m, N).map(toHex).join(), `built e=${e} consistency ${m}→${N}`).toBe(consistencyProof(reader, m, N).map(toHex).join());
      }
    }
  });

  it('evicting twice (at increasing indexes) keeps the invariant', () => {
    for (let a = 0; a <= 20; a++) {
      for (let b = a; b <= 24; b += 3) {
        const t = retainedTree(leaves.slice(0, 24), a);
        t.evict(b);
        for (let i = 24; i < 32; i++) t.append(leaves[i]!);
        expect(toHex(t.root()), `a=${a} b=${b}`).toBe(toHex(rootOf(leavesReader(leaves), 32)));
        for (let i = b; i < 32; i++) expect(inclusionProof(t, i, 32).map(toHex).join(), `a=${a} b=${b} leaf ${i}`).toBe(inclusionProof(leavesReader(leaves), i, 32).map(toHex).join());
      }
    }
  });
});
