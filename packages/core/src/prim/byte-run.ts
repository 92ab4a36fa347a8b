import { assertBytes, invalidArgument } from '../errors.js';

/**
 * An append-only run of byte strings — records, leaf hashes — kept in large chunks, with the
 * oldest dropped from the front. It exists for the garbage collector: a log holds every record it
 * retains for a long time, and as one Uint8Array object each, every record's view survived two
 * young-generation collections and was copied into the old generation, where the next full
 * collections marked it again (measured in docs/performance.md, "ByteRun": the retained views alone
 * cost ~0.55 CPU µs per record in bench/core-append). Here an entry is three numbers in a typed
 * array; the bytes live in chunks outside the JavaScript heap, and a chunk is released when its
 * last entry is dropped.
 *
 * The appender writes a record straight into the run (reserve → write → commit): the record's
 * bytes are built where they are kept, with no buffer of their own.
 *
 * Entry indices are relative to the first entry held (0 … length − 1). A view returned by get()
 * stays valid after later appends and drops: chunks are never reused.
 */
export class ByteRun {
  /** chunks[k] has id chunkBase + k; the last one is the one being filled. */
  private chunks: Uint8Array[] = [];
  private chunkBase = 0;
  /** Bytes used in the newest chunk. */
  private fill = 0;
  /** Per entry: chunk id, offset, length (from metaStart, 3 numbers each). */
  private meta = new Uint32Array(3 * 64);
  private metaStart = 0;
  private count = 0;
  /** Entries dropped so far (the absolute index of entry 0). */
  private dropped = 0;
  /** Entries replaced by set(), by absolute index. */
  private replaced: Map<number, Uint8Array> | undefined;

  /** @param chunkBytes the size of a chunk (an entry larger than it gets a chunk of its own size). */
  constructor(private readonly chunkBytes: number = 256 * 1024) {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 64 || chunkBytes > 2 ** 30) throw invalidArgument('chunkBytes', 'an integer from 64 to 2^30', chunkBytes);
  }

  get length(): number {
    return this.count;
  }

  /**
   * The chunk to write the next entry into, with at least `n` free bytes from writeOffset. Write
   * into it, then commit() the entry. Nothing is an entry until committed.
   */
  reserve(n: number): Uint8Array {
    const last = this.chunks[this.chunks.length - 1];
    if (last !== undefined && last.length - this.fill >= n) return last;
    if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 30) throw invalidArgument('n', 'a byte count from 0 to 2^30', n);
    const chunk = new Uint8Array(Math.max(this.chunkBytes, n));
    // A chunk no entry uses (its entries all dropped, or none committed yet) is replaced, not kept.
    if (last !== undefined && !this.chunkInUse(this.chunkBase + this.chunks.length - 1)) {
      this.chunks[this.chunks.length - 1] = chunk;
    } else {
      this.chunks.push(chunk);
    }
    this.fill = 0;
    return chunk;
  }

  /** Where in the chunk reserve() returned the next entry may start. */
  get writeOffset(): number {
    return this.fill;
  }

  /**
   * Make bytes [offset, offset + length) of the newest chunk the next entry. `offset` may be past
   * writeOffset (a writer that keeps a prefix byte of its own before the entry, like the RFC 6962
   * 0x00 of a leaf input), never before it.
   */
  commit(offset: number, length: number): void {
    const last = this.chunks[this.chunks.length - 1];
    if (last === undefined) throw invalidArgument('commit', 'a reserve() first', 'no chunk');
    if (!Number.isSafeInteger(offset) || offset < this.fill || !Number.isSafeInteger(length) || length < 0 || offset + length > last.length) {
      throw invalidArgument('commit', `an entry inside the reserved chunk from offset ${this.fill}`, `[${offset}, ${offset + length})`);
    }
    let at = (this.metaStart + this.count) * 3;
    if (at + 3 > this.meta.length) {
      if (this.count * 6 > this.meta.length) {
        const next = new Uint32Array(this.meta.length * 2);
        next.set(this.meta.subarray(this.metaStart * 3, at));
        this.meta = next;
      } else {
        this.meta.copyWithin(0, this.metaStart * 3, at);
      }
      this.metaStart = 0;
      at = this.count * 3;
    }
    this.meta[at] = this.chunkBase + this.chunks.length - 1;
    this.meta[at + 1] = offset;
    this.meta[at + 2] = length;
    this.count++;
    this.fill = offset + length;
  }

  /** Append a copy of `bytes` as the next entry. */
  push(bytes: Uint8Array): void {
    assertBytes('bytes', bytes);
    const chunk = this.reserve(bytes.length);
    const at = this.fill;
    chunk.set(bytes, at);
    this.commit(at, bytes.length);
  }

  /** Entry i (0 = the oldest held) as a view; valid for as long as it is referenced. */
  get(i: number): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw invalidArgument('index', `an entry index from 0 to ${this.count - 1}`, i);
    if (this.replaced !== undefined) {
      const r = this.replaced.get(this.dropped + i);
      if (r !== undefined) return r;
    }
    const at = (this.metaStart + i) * 3;
    const off = this.meta[at + 1]!;
    return this.chunks[this.meta[at]! - this.chunkBase]!.subarray(off, off + this.meta[at + 2]!);
  }

  /**
   * Replace entry i with a copy of `bytes`. Nothing in the engine rewrites a record: this is what a
   * test uses to play someone who changes a held record in memory. The copy is kept beside the
   * chunks (entries stay in chunk order, which is what lets dropFront release chunks).
   */
  set(i: number, bytes: Uint8Array): void {
    assertBytes('bytes', bytes);
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw invalidArgument('index', `an entry index from 0 to ${this.count - 1}`, i);
    (this.replaced ??= new Map()).set(this.dropped + i, bytes.slice());
  }

  /** Length in bytes of entry i, without making a view. */
  lengthOf(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw invalidArgument('index', `an entry index from 0 to ${this.count - 1}`, i);
    return this.replaced?.get(this.dropped + i)?.length ?? this.meta[(this.metaStart + i) * 3 + 2]!;
  }

  /** Entries [from, to) as views (for writing them out together). */
  views(from: number, to: number): Uint8Array[] {
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > this.count || from > to) {
      throw invalidArgument('range', `a range inside [0, ${this.count}]`, `[${from}, ${to})`);
    }
    const out: Uint8Array[] = new Array(to - from);
    for (let i = from; i < to; i++) out[i - from] = this.get(i);
    return out;
  }

  /** Drop the oldest n entries (all, if n ≥ length); chunks none of the rest use are released. */
  dropFront(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw invalidArgument('n', 'an entry count ≥ 0', n);
    const d = Math.min(n, this.count);
    this.metaStart += d;
    this.count -= d;
    if (this.replaced !== undefined) for (let k = this.dropped; k < this.dropped + d; k++) this.replaced.delete(k);
    this.dropped += d;
    // Keep the newest chunk (it is being filled); release every older one before the first entry's.
    const keepFrom = this.count > 0 ? this.meta[this.metaStart * 3]! : this.chunkBase + this.chunks.length - 1;
    const release = Math.min(keepFrom - this.chunkBase, this.chunks.length - 1);
    if (release > 0) {
      this.chunks.splice(0, release);
      this.chunkBase += release;
    }
    if (this.count === 0) this.metaStart = 0;
  }

  /** Drop every entry and release every chunk. */
  clear(): void {
    this.chunks = [];
    this.chunkBase = 0;
    this.fill = 0;
    this.metaStart = 0;
    this.dropped += this.count;
    this.count = 0;
    this.replaced = undefined;
  }

  /** Bytes of chunk memory held (what the run costs outside the heap). */
  get chunkBytesHeld(): number {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  private chunkInUse(id: number): boolean {
    return this.count > 0 && this.meta[(this.metaStart + this.count - 1) * 3]! === id;
  }
}
