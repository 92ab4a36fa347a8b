import { invalidArgument } from '../errors.js';
import { TILE_WIDTH } from '../log/tiles.js';
import { nodeFileOps, type FileOps } from '../sinks/fs.js';
import { readBundleEntries } from '../sinks/export/reader.js';
import { readWal } from '../sinks/wal/reader.js';

/**
 * `ronctl audit verify --wal-dir`: does the write-ahead log hold exactly the records the export
 * published? Run after verifyExport() succeeded (so the export's records are the signed ones);
 * this compares the WAL's record frames with them byte for byte. WAL records beyond the export's
 * size are not yet published and are only counted. Node only (reads the WAL).
 */

export interface WalComparison {
  readonly ok: boolean;
  /** Records present in both and compared. */
  readonly compared: number;
  /** Records the WAL holds (its highest seq + 1, or 0). */
  readonly walRecords: number;
  /** First seq where they disagree, and why. */
  readonly mismatch: { readonly seq: number; readonly message: string } | null;
}

export async function compareWalWithExport(opts: { walDir: string; exportDir: string; size: number; ops?: FileOps }): Promise<WalComparison> {
  if (opts === null || typeof opts !== 'object') throw invalidArgument('options', '{walDir, exportDir, size}', opts);
  const { walDir, exportDir, size } = opts;
  if (!Number.isSafeInteger(size) || size < 0) throw invalidArgument('size', 'the verified export size', size);
  const ops = opts.ops ?? nodeFileOps;
  await ops.readdir(walDir);
  let compared = 0;
  let expected = 0;
  let bundleIndex = -1;
  let bundle: Uint8Array[] = [];
  const fail = (seq: number, message: string): WalComparison => ({ ok: false, compared, walRecords: expected, mismatch: { seq, message } });
  for await (const e of readWal(walDir, ops)) {
    if (e.type !== 'record') continue;
    const seq = e.seq ?? expected;
    if (seq !== expected) return fail(expected, `the WAL jumps from seq ${expected - 1} to ${seq} (${e.segment} at offset ${e.offset})`);
    expected = seq + 1;
    if (seq >= size) continue;
    const b = Math.floor(seq / TILE_WIDTH);
    if (b !== bundleIndex) {
      const read = await readBundleEntries(ops, exportDir, b, Math.min(TILE_WIDTH, size - b * TILE_WIDTH));
      if (!('entries' in read)) return fail(seq, `entry bundle ${b} of the export cannot be read`);
      bundle = read.entries;
      bundleIndex = b;
    }
    const other = bundle[seq - b * TILE_WIDTH]!;
    if (other.length !== e.bytes.length || !other.every((x, i) => x === e.bytes[i])) return fail(seq, `record ${seq} differs between the WAL (${e.segment} at offset ${e.offset}) and the export`);
    compared++;
  }
  if (expected < size) return fail(expected, `the WAL holds ${expected} records but the export's checkpoint covers ${size} records`);
  return { ok: true, compared, walRecords: expected, mismatch: null };
}
