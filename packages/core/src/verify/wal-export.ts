import { invalidArgument } from '../errors.js';
import { parseCheckpoint } from '../log/checkpoint.js';
import { leafHashOfInput } from '../prim/hash.js';
import { fromHex } from '../prim/hex.js';
import { CompactRange, equalBytes } from '../log/merkle.js';
import { parseHeader } from '../sinks/wal/segment.js';
import { openNote, parseNote, parseVerifierKey } from '../sign/note.js';
import { keysOfLog } from './key-trust.js';
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

/**
 * Besides the records both hold, every checkpoint frame of the WAL that covers exactly the records
 * before it (protocol 2 writes no other kind) must have the root of those records and, when `keys`
 * are given and the frame names one of them, a signature by it that verifies: a record altered in the WAL beyond the
 * export (or a checkpoint frame written without the key) is then a mismatch, not "not yet published".
 */
export async function compareWalWithExport(opts: { walDir: string; exportDir: string; size: number; keys?: readonly string[]; ops?: FileOps }): Promise<WalComparison> {
  if (opts === null || typeof opts !== 'object') throw invalidArgument('options', '{walDir, exportDir, size}', opts);
  const { walDir, exportDir, size } = opts;
  if (opts.keys !== undefined && (!Array.isArray(opts.keys) || !opts.keys.every((k) => typeof k === 'string'))) throw invalidArgument('keys', 'an array of verifier key strings', opts.keys);
  const keys = (opts.keys ?? []).map((k) => parseVerifierKey(k));
  let range = new CompactRange();
  if (!Number.isSafeInteger(size) || size < 0) throw invalidArgument('size', 'the verified export size', size);
  const ops = opts.ops ?? nodeFileOps;
  await ops.readdir(walDir);
  let compared = 0;
  let expected = 0;
  let bundleIndex = -1;
  let bundle: Uint8Array[] = [];
  const fail = (seq: number, message: string): WalComparison => ({ ok: false, compared, walRecords: expected, mismatch: { seq, message } });
  let first = true;
  for await (const e of readWal(walDir, ops)) {
    if (e.type === 'header') {
      // A WAL whose oldest segments were pruned (format §9.5) starts at its first header's state.
      const h = first ? parseHeader(e.bytes) : undefined;
      first = false;
      if (h !== undefined && h.first_seq > 0 && h.state !== undefined) {
        if (h.first_seq > size) return fail(0, `the WAL starts at seq ${h.first_seq}, beyond the export's ${size} records: the records between are in neither`);
        range = CompactRange.from(h.first_seq, h.state.tree.map((t) => fromHex(t)!));
        expected = h.first_seq;
      }
      continue;
    }
    if (e.type === 'checkpoint') {
      let cp: ReturnType<typeof parseCheckpoint>;
      let note: string;
      try {
        note = new TextDecoder('utf-8', { fatal: true }).decode(e.bytes);
        cp = parseCheckpoint(parseNote(note).text);
      } catch (err) {
        return fail(expected, `checkpoint frame in ${e.segment} at offset ${e.offset} does not parse (${(err as Error).message})`);
      }
      if (cp.size !== range.size) continue;
      if (!equalBytes(cp.root, range.root())) return fail(Math.max(0, expected - 1), `the WAL's checkpoint frame of size ${cp.size} (${e.segment} at offset ${e.offset}) does not match the WAL's records: a record before it was altered`);
      // A frame naming a trusted key must verify; one signed only by keys announced after the
      // export's checkpoint (a rotation since) is checked by its root alone.
      // Only keys named for the frame's log count (format §6).
      const own = keysOfLog(cp.origin, keys);
      const named = parseNote(note).signatures.some((sig) => own.some((k) => k.name === sig.name && k.keyId === sig.keyId));
      if (named) {
        try {
          openNote(note, own);
        } catch (err) {
          return fail(Math.max(0, expected - 1), `the WAL's checkpoint frame of size ${cp.size} (${e.segment} at offset ${e.offset}) is not signed by a trusted key (${(err as Error).message})`);
        }
      }
      continue;
    }
    if (e.type !== 'record') continue;
    const seq = e.seq ?? expected;
    if (seq !== expected) return fail(expected, `the WAL jumps from seq ${expected - 1} to ${seq} (${e.segment} at offset ${e.offset})`);
    expected = seq + 1;
    const input = new Uint8Array(e.bytes.length + 1);
    input.set(e.bytes, 1);
    range.append(leafHashOfInput(input));
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
