import { EMPTY_ROOT, getHashBackend } from '../prim/hash.js';
import { TILE_HASH_BYTES, TILE_WIDTH } from '../log/tiles.js';

/**
 * The hashing side of the export verifier: the tree as leaves stream in, with the tile-level
 * hashes it needs to compare with the export's tiles, and the hashing shortcuts that keep a full
 * verification fast (no copy of a record for its leaf hash, no byte array allocated per hash).
 * Same bytes as prim/hash.ts and log/merkle.ts compute; export.test.ts runs both backends.
 */

/**
 * The right edge of the tree as leaves stream in (a compact range), which also hands out every
 * tile-level hash the moment it is complete: a perfect aligned subtree of height 8·L is hash
 * number i of level L. With `keep`, it fills the current tile of each level for comparison.
 */
export class TileWalker {
  /** Hashes are latin1 strings (one char per byte) here: no allocation of a byte array per hash. */
  private readonly stack: string[] = [];
  private readonly scratch = new Uint8Array(65);
  size = 0;
  readonly buffers: Uint8Array[] = [];
  readonly counts: number[] = [];
  /** Tiles completed since the last drain: level, index, bytes (8192). */
  completed: { level: number; n: number; bytes: Uint8Array }[] = [];

  constructor(
    private readonly keep: boolean,
    private readonly sha256: Sha256Latin1,
  ) {
    this.scratch[0] = 0x01;
  }

  /** RFC 6962 node hash SHA-256(0x01 ‖ left ‖ right), as nodeHash() in prim/hash.ts computes it. */
  private node(left: string, right: string): string {
    const s = this.scratch;
    for (let i = 0; i < 32; i++) {
      s[1 + i] = left.charCodeAt(i);
      s[33 + i] = right.charCodeAt(i);
    }
    return this.sha256(s);
  }

  append(leaf: string): void {
    if (this.keep) this.levelHash(0, leaf);
    this.carry(leaf, this.size, 0);
    this.size++;
  }

  /**
   * Push the perfect subtree `h` of height `height`, the `count`-th of its height, merging it with
   * the stack while it is a right child; every merge that completes a height 8·L is hash L's next.
   */
  private carry(h: string, count: number, height: number): void {
    while (count % 2 === 1) {
      h = this.node(this.stack.pop()!, h);
      count = (count - 1) / 2;
      height++;
      if (this.keep && height % 8 === 0) this.levelHash(height / 8, h);
    }
    this.stack.push(h);
  }

  /**
   * Append a whole aligned bundle at once: the 256 leaves whose hashes are `tile` (level-0 tile,
   * 8192 bytes; only read with `keep`) and whose perfect subtree has root `root`. The same state,
   * completed tiles and order of level hashes as 256 append() calls; the size must be a multiple of 256.
   */
  appendSubtree(root: Uint8Array, tile: Uint8Array | null): void {
    if (this.size % TILE_WIDTH !== 0 || root.length !== 32) throw new RangeError(`appendSubtree at size ${this.size} (must be a multiple of ${TILE_WIDTH}) with a ${root.length}-byte root`);
    const h = latin1Of(root);
    if (this.keep) {
      if (tile === null || tile.length !== TILE_WIDTH * TILE_HASH_BYTES) throw new RangeError('appendSubtree needs the bundle\'s level-0 tile');
      const buf = (this.buffers[0] ??= new Uint8Array(TILE_WIDTH * TILE_HASH_BYTES));
      buf.set(tile);
      const count = (this.counts[0] ?? 0) + TILE_WIDTH;
      this.counts[0] = count;
      this.completed.push({ level: 0, n: count / TILE_WIDTH - 1, bytes: buf.slice() });
      this.levelHash(1, h);
    }
    this.carry(h, this.size / TILE_WIDTH, 8);
    this.size += TILE_WIDTH;
  }

  private levelHash(level: number, h: string): void {
    const buf = (this.buffers[level] ??= new Uint8Array(TILE_WIDTH * TILE_HASH_BYTES));
    const count = this.counts[level] ?? 0;
    const idx = count % TILE_WIDTH;
    const off = idx * TILE_HASH_BYTES;
    for (let i = 0; i < 32; i++) buf[off + i] = h.charCodeAt(i);
    this.counts[level] = count + 1;
    if (idx === TILE_WIDTH - 1) this.completed.push({ level, n: (count + 1) / TILE_WIDTH - 1, bytes: buf.slice() });
  }

  root(): Uint8Array {
    if (this.size === 0) return EMPTY_ROOT;
    let r = this.stack[this.stack.length - 1]!;
    for (let i = this.stack.length - 2; i >= 0; i--) r = this.node(this.stack[i]!, r);
    return latin1Bytes(r);
  }
}

/** SHA-256 with the digest as a latin1 string (byte i = char code i). */
export type Sha256Latin1 = (data: Uint8Array) => string;

function latin1Of(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef');

/** Lowercase hex of a 32-byte hash into `out` (64 ASCII bytes), to compare with a record's `prev` bytes. */
export function hexInto(out: Uint8Array, hash: Uint8Array): void {
  for (let i = 0; i < hash.length; i++) {
    out[2 * i] = HEX_DIGITS[hash[i]! >> 4]!;
    out[2 * i + 1] = HEX_DIGITS[hash[i]! & 15]!;
  }
}

/**
 * The RFC 6962 leaf hash of an entry that sits in its bundle right after its 2-byte length: the
 * length's low byte is set to 0x00 for the hash and put back, so no copy of the record is made.
 */
export function leafOf(entry: Uint8Array, sha256: Sha256Latin1): string {
  const input = new Uint8Array(entry.buffer, entry.byteOffset - 1, entry.length + 1);
  const saved = input[0]!;
  input[0] = 0x00;
  const h = sha256(input);
  input[0] = saved;
  return h;
}

/** SHA-256 as a latin1 string: the backend's string digest when it has one (node:crypto: no Buffer per call), else its bytes. */
export function sha256Latin1For(): Sha256Latin1 {
  const backend = getHashBackend();
  return backend.sha256Latin1 !== undefined ? (d) => backend.sha256Latin1!(d) : (d) => latin1Of(backend.sha256(d));
}
