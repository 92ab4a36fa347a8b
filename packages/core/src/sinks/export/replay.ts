import { AuditError, invalidArgument } from '../../errors.js';
import { nodeFileOps, type FileOps } from '../fs.js';
import { readWal } from '../wal/reader.js';
import { parseCheckpointNote } from './reader.js';
import { ExportWriter } from './writer.js';

/**
 * `ronctl audit replay` (runbook §6.2): rebuild or bring up to date an export directory from an
 * intact write-ahead log. The export is continued from its own checkpoint (an empty directory
 * starts at 0); every WAL record from there on is handed to the ExportWriter in order, and every
 * WAL checkpoint frame is offered, so the result is exactly what the engine would have exported.
 * Records after the WAL's last checkpoint frame are under no signed checkpoint and stay out.
 * Nothing here verifies signatures: run `ronctl audit verify` on the result.
 */

export interface ReplayResult {
  /** Size of the export before the replay. */
  readonly fromSize: number;
  /** Size of the export's checkpoint after it. */
  readonly publishedSize: number;
  /** Records the WAL holds (its highest seq + 1). */
  readonly walRecords: number;
  /** WAL records not under any WAL checkpoint (not exported). */
  readonly unsigned: number;
}

const BATCH = 4096;

export async function replayWalToExport(opts: { walDir: string; exportDir: string; ops?: FileOps; onProgress?: (records: number) => void }): Promise<ReplayResult> {
  if (opts === null || typeof opts !== 'object') throw invalidArgument('options', '{walDir, exportDir}', opts);
  if (typeof opts.walDir !== 'string' || opts.walDir.length === 0) throw invalidArgument('walDir', 'a WAL directory path', opts.walDir);
  if (typeof opts.exportDir !== 'string' || opts.exportDir.length === 0) throw invalidArgument('exportDir', 'an export directory path', opts.exportDir);
  const ops = opts.ops ?? nodeFileOps;
  await ops.readdir(opts.walDir); // a missing WAL directory is an operator error, not an empty WAL
  const writer = await ExportWriter.open({ dir: opts.exportDir, every: 65_536, intervalMs: 86_400_000, ops });
  let failure: unknown;
  writer.onError = (err) => (failure = err);
  const fromSize = writer.publishedSize;
  let next = fromSize;
  let walNext = 0;
  let batch: Uint8Array[] = [];
  const hand = (): void => {
    if (batch.length === 0) return;
    writer.addRecords(next - batch.length, batch);
    batch = [];
  };
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for await (const e of readWal(opts.walDir, ops)) {
    if (failure !== undefined) break;
    if (e.type === 'record') {
      const seq = e.seq ?? walNext;
      if (seq !== walNext) throw new AuditError('AUDIT_WAL_CORRUPT', `WAL record at ${e.segment}:${e.offset} has seq ${seq}, expected ${walNext}`, { segment: e.segment, offset: e.offset });
      walNext = seq + 1;
      if (seq < fromSize) continue;
      batch.push(e.bytes);
      next = seq + 1;
      if (batch.length >= BATCH) {
        hand();
        opts.onProgress?.(next);
      }
    } else if (e.type === 'checkpoint') {
      const note = decoder.decode(e.bytes);
      const cp = parseCheckpointNote(note).checkpoint;
      if (cp.size <= fromSize || cp.size > walNext) continue;
      hand();
      writer.offerCheckpoint({ note, size: cp.size, time: cp.time ?? Date.now() });
    }
  }
  hand();
  await writer.close();
  if (failure !== undefined) throw failure;
  opts.onProgress?.(next);
  return { fromSize, publishedSize: writer.publishedSize, walRecords: walNext, unsigned: Math.max(0, walNext - writer.publishedSize) };
}
