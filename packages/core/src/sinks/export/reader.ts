import type { FileOps } from '../fs.js';
import { parseCheckpoint, type Checkpoint } from '../../log/checkpoint.js';
import { leafHash, nodeHash } from '../../prim/hash.js';
import { decodeBundle, tileIndexPath, tilePath, TILE_HASH_BYTES, TILE_WIDTH } from '../../log/tiles.js';
import { parseNote, type ParsedNote } from '../../sign/note.js';

/**
 * Reading a C2SP tlog-tiles export directory (docs/format.md §10): the checkpoint file, entry
 * bundles, hash tiles and an inventory of which tiles are present. Shared by the export writer
 * (to continue after a restart), the export verifier and the receipt prover; it never writes. It imports no Node module statically: the default file
 * layer is loaded on first use, so `@ron-audit/core/verify` stays importable where there is no fs.
 */

let nodeOps: Promise<FileOps> | undefined;

/** Path join without node:path ('/' works on every platform Node runs on). */
export function join(dir: string, rel: string): string {
  return dir.endsWith('/') ? `${dir}${rel}` : `${dir}/${rel}`;
}

/** The real file system (node:fs), loaded lazily. */
export function defaultFileOps(): Promise<FileOps> {
  nodeOps ??= import('../fs.js').then((m) => m.nodeFileOps);
  return nodeOps;
}

function errnoOf(err: unknown): string | undefined {
  return (err as { code?: unknown } | null)?.code as string | undefined;
}

/** A file's bytes, or null when it is not there (ENOENT, or a directory/file where the other was expected). */
export async function readOptional(ops: FileOps, path: string): Promise<Uint8Array | null> {
  try {
    return await ops.readFile(path);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
    throw err;
  }
}

async function readdirOptional(ops: FileOps, path: string): Promise<string[]> {
  try {
    return await ops.readdir(path);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

export type TileLevel = number | 'entries';

/** Which tiles and bundles a directory holds: full ones and, per index, the widths of partial ones. */
export interface TileInventory {
  hasFull(level: TileLevel, n: number): boolean;
  /** Widths of the partial tiles present at (level, n), ascending. */
  partials(level: TileLevel, n: number): readonly number[];
  /** Levels (numbers) that have a directory. */
  readonly levels: readonly number[];
  /** Records the entry bundles present would hold: the largest 256·n + width over them (256·(n+1) for a full one); 0 without any. */
  readonly entriesEnd: number;
  /** Paths under tile/ that are not canonical tile names (temporary files, strays), relative to the export dir. */
  readonly strays: readonly string[];
}

const key = (level: TileLevel, n: number): string => `${level}:${n}`;

/** Walk tile/ once. Cost: one readdir per directory, i.e. about one per 1000 tiles plus one per partial index. */
export async function inventory(ops: FileOps, dir: string): Promise<TileInventory> {
  const full = new Set<string>();
  const partial = new Map<string, number[]>();
  const strays: string[] = [];
  const levels: number[] = [];
  let entriesEnd = 0;
  const walk = async (level: TileLevel, rel: string, acc: number, depth: number): Promise<void> => {
    const names = await readdirOptional(ops, join(dir, rel));
    for (const name of names) {
      const path = `${rel}/${name}`;
      let m: RegExpExecArray | null;
      if ((m = /^x(\d{3})$/.exec(name)) !== null && depth < 6) {
        await walk(level, path, acc * 1000 + Number(m[1]), depth + 1);
      } else if ((m = /^(\d{3})$/.exec(name)) !== null) {
        const n = acc * 1000 + Number(m[1]);
        if (`tile/${level}/${tileIndexPath(n)}` === path) {
          full.add(key(level, n));
          if (level === 'entries') entriesEnd = Math.max(entriesEnd, (n + 1) * TILE_WIDTH);
        } else strays.push(path);
      } else if ((m = /^(\d{3})\.p$/.exec(name)) !== null) {
        const n = acc * 1000 + Number(m[1]);
        if (`tile/${level}/${tileIndexPath(n)}.p` !== path) {
          strays.push(path);
          continue;
        }
        const widths: number[] = [];
        for (const w of await readdirOptional(ops, join(dir, path))) {
          if (/^[1-9]\d{0,2}$/.test(w) && Number(w) < TILE_WIDTH) widths.push(Number(w));
          else strays.push(`${path}/${w}`);
        }
        widths.sort((a, b) => a - b);
        if (widths.length > 0) partial.set(key(level, n), widths);
        if (level === 'entries' && widths.length > 0) entriesEnd = Math.max(entriesEnd, n * TILE_WIDTH + widths[widths.length - 1]!);
      } else {
        strays.push(path);
      }
    }
  };
  for (const name of await readdirOptional(ops, join(dir, 'tile'))) {
    if (name === 'entries') await walk('entries', 'tile/entries', 0, 0);
    else if (/^(0|[1-9]\d?)$/.test(name) && Number(name) <= 63) {
      levels.push(Number(name));
      await walk(Number(name), `tile/${name}`, 0, 0);
    } else strays.push(`tile/${name}`);
  }
  levels.sort((a, b) => a - b);
  return {
    hasFull: (level, n) => full.has(key(level, n)),
    partials: (level, n) => partial.get(key(level, n)) ?? [],
    levels,
    entriesEnd,
    strays,
  };
}

export interface ExportCheckpoint {
  readonly note: string;
  readonly parsed: ParsedNote;
  readonly checkpoint: Checkpoint;
}

/**
 * Parse a signed checkpoint note (signatures are not checked here). Throws AUDIT_NOTE_MALFORMED or
 * AUDIT_CHECKPOINT_MALFORMED.
 */
export function parseCheckpointNote(note: string | Uint8Array): ExportCheckpoint {
  const parsed = parseNote(note);
  const text = typeof note === 'string' ? note : new TextDecoder().decode(note);
  return { note: text, parsed, checkpoint: parseCheckpoint(parsed.text) };
}

/** Number of hashes at `level` in a tree of `size` (each covers 256^level leaves). */
export function hashesAtLevel(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

/** Width of the partial tile at `level` for `size` (0: none) and its index. */
export function partialOf(size: number, level: number): { n: number; width: number } {
  const h = hashesAtLevel(size, level);
  return { n: Math.floor(h / TILE_WIDTH), width: h % TILE_WIDTH };
}

/**
 * The first `width` hashes of hash tile (level, n) as one byte array, from the exact file
 * (full, or partial of that width) or, as tlog clients do, from the full tile or a wider partial
 * one. Null when none is present or a file is too short.
 */
export async function readTileHashes(ops: FileOps, dir: string, level: number, n: number, width: number, inv?: TileInventory): Promise<Uint8Array | null> {
  const want = width * TILE_HASH_BYTES;
  const candidates: string[] = [tilePath(level, n, width)];
  if (width < TILE_WIDTH) candidates.push(tilePath(level, n));
  for (const w of inv?.partials(level, n) ?? []) if (w > width) candidates.push(tilePath(level, n, w));
  for (const rel of candidates) {
    const bytes = await readOptional(ops, join(dir, rel));
    if (bytes !== null && bytes.length >= want) return bytes.length === want ? bytes : bytes.subarray(0, want);
  }
  return null;
}

/** Split a tile's bytes into its 32-byte hashes (views, no copy). */
export function splitHashes(bytes: Uint8Array, count = bytes.length / TILE_HASH_BYTES): Uint8Array[] {
  const out: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = bytes.subarray(i * TILE_HASH_BYTES, (i + 1) * TILE_HASH_BYTES);
  return out;
}

/** Concatenate hashes into one tile body. */
export function joinHashes(hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * TILE_HASH_BYTES);
  for (let i = 0; i < hashes.length; i++) out.set(hashes[i]!, i * TILE_HASH_BYTES);
  return out;
}

/** RFC 6962 root of a perfect run of hashes (a power of two of them, e.g. the 256 of a full tile). */
export function perfectRoot(hashes: readonly Uint8Array[]): Uint8Array {
  let level = hashes;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

export type BundleRead = { readonly entries: Uint8Array[]; readonly path: string } | { readonly missing: true } | { readonly malformed: string };

/**
 * The first `width` entries of bundle n, from the exact file or (as for tiles) the full or a wider
 * partial bundle. `malformed` names the file whose framing is broken or that holds too few entries.
 */
export async function readBundleEntries(ops: FileOps, dir: string, n: number, width: number, inv?: TileInventory): Promise<BundleRead> {
  const candidates: string[] = [tilePath('entries', n, width)];
  if (width < TILE_WIDTH) candidates.push(tilePath('entries', n));
  for (const w of inv?.partials('entries', n) ?? []) if (w > width) candidates.push(tilePath('entries', n, w));
  for (const rel of candidates) {
    const bytes = await readOptional(ops, join(dir, rel));
    if (bytes === null) continue;
    const entries = decodeBundle(bytes);
    if (entries === null) return { malformed: rel };
    if (entries.length < width) return { malformed: rel };
    return { entries: entries.length === width ? entries : entries.slice(0, width), path: rel };
  }
  return { missing: true };
}

/**
 * Hashes [0, width) of tile (level, n): read from the tile files, or recomputed from what is below
 * them (level 0 from the entry bundle, level L from the full level L−1 tiles) when a tile is
 * missing. Null when neither is possible.
 */
export async function tileHashesOrRecompute(ops: FileOps, dir: string, level: number, n: number, width: number, inv?: TileInventory): Promise<Uint8Array[] | null> {
  const bytes = await readTileHashes(ops, dir, level, n, width, inv);
  if (bytes !== null) return splitHashes(bytes, width);
  return recomputeTile(ops, dir, level, n, width, inv);
}

/** Hashes [0, width) of tile (level, n) from the level below only, never from the tile file itself. */
export async function recomputeTile(ops: FileOps, dir: string, level: number, n: number, width: number, inv?: TileInventory): Promise<Uint8Array[] | null> {
  if (level === 0) {
    const read = await readBundleEntries(ops, dir, n, width, inv);
    return 'entries' in read ? read.entries.map((e) => leafHash(e)) : null;
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < width; i++) {
    const below = await tileHashesOrRecompute(ops, dir, level - 1, n * TILE_WIDTH + i, TILE_WIDTH, inv);
    if (below === null) return null;
    out.push(perfectRoot(below));
  }
  return out;
}
