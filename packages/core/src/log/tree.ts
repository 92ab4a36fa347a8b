import { AuditError } from '../errors.js';
import { EMPTY_ROOT, HASH_BYTES, nodeHash } from '../prim/hash.js';
import { splitPoint, type TreeReader } from './merkle.js';

/**
 * The in-memory Merkle tree of a log, with a bounded window of retained leaves.
 *
 * It keeps every perfect, aligned subtree hash whose leaves are all retained (levels[h][j] is the
 * subtree of 2^h leaves starting at leaf (bases[h] + j)·2^h), plus, for the evicted prefix
 * [0, evicted), only the roots of its maximal perfect subtrees (its "frontier", ≤ 53 hashes).
 *
 * Invariant that makes eviction at any index sound: when the RFC 9162 recursion reaches a subtree
 * lying entirely below `evicted`, its parent straddles `evicted`, and such a left child is always
 * one of the frontier subtrees of `evicted` (the bits of `evicted` above the child's level equal
 * the parent's start, and the child's bit is set). So roots and proofs for any size ≥ evicted and
 * any retained leaf can still be computed.
 */
/**
 * One level of retained hashes, 32 bytes each, in one growable buffer rather than one object per
 * hash: a log keeps about two hashes per record for as long as it keeps the record, and as
 * separate objects each of them would be copied by every young-generation GC it survives
 * (docs/performance.md, core-append). get() returns a copy; view() a view valid until the next push().
 */
class HashColumn {
  private buf = new Uint8Array(64 * HASH_BYTES);
  private start = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(h: Uint8Array): void {
    let end = (this.start + this.count) * HASH_BYTES;
    if (end + HASH_BYTES > this.buf.length) {
      if (this.count * 2 * HASH_BYTES > this.buf.length) {
        const next = new Uint8Array(this.buf.length * 2);
        next.set(this.buf.subarray(this.start * HASH_BYTES, end));
        this.buf = next;
      } else {
        // Mostly dropped: compact in place (views from view() are used at once, never kept).
        this.buf.copyWithin(0, this.start * HASH_BYTES, end);
      }
      this.start = 0;
      end = this.count * HASH_BYTES;
    }
    this.buf.set(h, end);
    this.count++;
  }

  /** A copy of hash i (what leaves the tree: roots, proofs, frontiers). */
  get(i: number): Uint8Array | undefined {
    if (i < 0 || i >= this.count) return undefined;
    const at = (this.start + i) * HASH_BYTES;
    return this.buf.slice(at, at + HASH_BYTES);
  }

  /** A view of hash i, valid only until the next push(): for hashing it at once. */
  view(i: number): Uint8Array {
    const at = (this.start + i) * HASH_BYTES;
    return this.buf.subarray(at, at + HASH_BYTES);
  }

  dropFront(n: number): void {
    const d = Math.min(n, this.count);
    this.start += d;
    this.count -= d;
  }
}

export class RetainedTree implements TreeReader {
  private levels: HashColumn[] = [new HashColumn()];
  private bases: number[] = [0];
  private frontier = new Map<string, Uint8Array>();
  private evictedCount = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get evicted(): number {
    return this.evictedCount;
  }

  append(leaf: Uint8Array): void {
    const index = this.count;
    this.levels[0]!.push(leaf);
    this.count++;
    let h = 0;
    let idx = index;
    let hash = leaf;
    while (idx % 2 === 1) {
      const parentStart = (idx - 1) * 2 ** h;
      if (parentStart < this.evictedCount) break; // parent straddles the evicted prefix: never cached
      const left = this.levels[h]!.view(idx - 1 - this.bases[h]!);
      hash = nodeHash(left, hash);
      h++;
      idx = Math.floor(idx / 2);
      if (this.levels[h] === undefined) {
        this.levels[h] = new HashColumn();
        this.bases[h] = idx;
      }
      this.levels[h]!.push(hash);
    }
  }

  /** Leaf hash of a retained leaf. */
  leaf(index: number): Uint8Array {
    if (index < this.evictedCount || index >= this.count) {
      throw new AuditError('AUDIT_RANGE_UNAVAILABLE', `leaf ${index} is not retained (retained: ${this.evictedCount}..${this.count - 1})`);
    }
    return this.levels[0]!.get(index - this.bases[0]!)!;
  }

  subtree(lo: number, hi: number): Uint8Array {
    const n = hi - lo;
    if (hi > this.count || n <= 0) throw new AuditError('AUDIT_RANGE_UNAVAILABLE', `subtree [${lo}, ${hi}) is beyond tree size ${this.count}`);
    if (hi <= this.evictedCount) {
      const f = this.frontier.get(`${lo}:${n}`);
      if (f !== undefined) return f;
      // Not a frontier subtree itself, but it may be made of them: [0, evicted) is, so root(evicted) works.
      if (n === 1) throw new AuditError('AUDIT_RANGE_UNAVAILABLE', `subtree [${lo}, ${hi}) lies in the evicted prefix`);
      const k = splitPoint(n);
      return nodeHash(this.subtree(lo, lo + k), this.subtree(lo + k, hi));
    }
    if (lo >= this.evictedCount && Number.isInteger(Math.log2(n)) && lo % n === 0) {
      const h = Math.log2(n);
      const level = this.levels[h];
      const j = lo / n - (this.bases[h] ?? 0);
      const cached = level?.get(j);
      if (cached !== undefined) return cached;
    }
    if (n === 1) return this.leaf(lo);
    const k = splitPoint(n);
    return nodeHash(this.subtree(lo, lo + k), this.subtree(lo + k, hi));
  }

  root(size = this.count): Uint8Array {
    return size === 0 ? EMPTY_ROOT : this.subtree(0, size);
  }

  /**
   * Continue a tree of `size` leaves known only by its frontier — the roots of the perfect subtrees
   * that make up [0, size), largest first (WAL protocol 2 segment headers, format §9.5) — as if
   * every leaf below `size` had been evicted. Only for an empty tree.
   */
  resumeAt(size: number, frontier: readonly Uint8Array[]): void {
    if (this.count !== 0) throw new Error('resumeAt on a tree that holds leaves');
    const next = new Map<string, Uint8Array>();
    let lo = 0;
    let i = 0;
    for (let bit = 2 ** 52; bit >= 1; bit /= 2) {
      if (Math.floor(size / bit) % 2 === 1) {
        const node = frontier[i++];
        if (node === undefined) throw new Error(`frontier of size ${size} needs more than ${frontier.length} nodes`);
        next.set(`${lo}:${bit}`, node);
        lo += bit;
      }
    }
    if (i !== frontier.length) throw new Error(`frontier of size ${size} has ${i} nodes, not ${frontier.length}`);
    this.frontier = next;
    this.count = size;
    this.evictedCount = size;
    this.levels = [new HashColumn()];
    this.bases = [size];
  }

  /** The frontier at `size` (≤ the tree's size; the leaves it needs must be retained or on the evicted frontier). */
  frontierAt(size: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let lo = 0;
    for (let bit = 2 ** 52; bit >= 1; bit /= 2) {
      if (Math.floor(size / bit) % 2 === 1) {
        out.push(this.subtree(lo, lo + bit));
        lo += bit;
      }
    }
    return out;
  }

  /** Forget leaves below `to` (rounded down to keep at least one leaf is not required). */
  evict(to: number): void {
    if (to <= this.evictedCount) return;
    if (to > this.count) to = this.count;
    const next = new Map<string, Uint8Array>();
    let lo = 0;
    for (let bit = 2 ** 52; bit >= 1; bit /= 2) {
      if (Math.floor(to / bit) % 2 === 1) {
        next.set(`${lo}:${bit}`, this.subtree(lo, lo + bit));
        lo += bit;
      }
    }
    for (let h = 0; h < this.levels.length; h++) {
      const newBase = Math.ceil(to / 2 ** h);
      const drop = newBase - this.bases[h]!;
      if (drop > 0) {
        this.levels[h]!.dropFront(drop);
        this.bases[h] = newBase;
      }
    }
    this.frontier = next;
    this.evictedCount = to;
  }
}
