import { invalidArgument } from '../errors.js';

/**
 * C2SP tlog-tiles geometry (docs/format.md §10): paths and which tiles a tree size needs.
 * Shared by the exporter and the export reader.
 */
export const TILE_WIDTH = 256;
export const TILE_HASH_BYTES = 32;

/** `<N>` as zero-padded 3-digit elements, all but the last prefixed with `x`: 1234067 → x001/x234/067. */
export function tileIndexPath(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument('n', 'a tile index ≥ 0', n);
  const parts: string[] = [];
  let rest = n;
  do {
    parts.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  return parts.map((p, i) => (i < parts.length - 1 ? `x${p}` : p)).join('/');
}

/** Path of a hash tile (level ≥ 0) or, with level 'entries', of an entry bundle; width < 256 means partial. */
export function tilePath(level: number | 'entries', n: number, width: number = TILE_WIDTH): string {
  if (level !== 'entries' && (!Number.isInteger(level) || level < 0 || level > 63)) throw invalidArgument('level', '0–63 or "entries"', level);
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw invalidArgument('width', '1–256', width);
  const base = `tile/${level}/${tileIndexPath(n)}`;
  return width === TILE_WIDTH ? base : `${base}.p/${width}`;
}

export interface TileRef {
  readonly level: number;
  readonly n: number;
  readonly width: number;
}

/** Every tile (full and partial) of a tree of `size` at `level`: full ones [0, full), then the partial one if any. */
export function tilesAtLevel(size: number, level: number): { full: number; partialWidth: number } {
  const span = TILE_WIDTH ** level;
  const hashes = Math.floor(size / span);
  return { full: Math.floor(hashes / TILE_WIDTH), partialWidth: hashes % TILE_WIDTH };
}

/** Highest level that has any hash for this size (0 for size < 256·256, …). */
export function topLevel(size: number): number {
  let level = 0;
  while (Math.floor(size / TILE_WIDTH ** (level + 1)) > 0) level++;
  return level;
}

/** Encode an entry bundle: each entry prefixed by its big-endian uint16 length. */
export function encodeBundle(entries: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const e of entries) {
    if (e.length > 0xffff) throw invalidArgument('entry', 'at most 65535 bytes', e);
    total += 2 + e.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const e of entries) {
    out[off] = e.length >>> 8;
    out[off + 1] = e.length & 0xff;
    out.set(e, off + 2);
    off += 2 + e.length;
  }
  return out;
}

/** Decode an entry bundle; returns null when the framing is broken (a length runs past the end). */
export function decodeBundle(bytes: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (off + 2 > bytes.length) return null;
    const len = (bytes[off]! << 8) | bytes[off + 1]!;
    if (off + 2 + len > bytes.length) return null;
    out.push(bytes.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return out;
}
