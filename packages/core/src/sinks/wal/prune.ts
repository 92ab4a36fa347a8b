import { join } from 'node:path';
import { AuditError, invalidArgument } from '../../errors.js';
import { verifyExport } from '../../verify/export.js';
import { nodeFileOps, type FileOps } from '../fs.js';
import { FRAME_CHECKPOINT, FRAME_HEADER, MAGIC, hasMagic, readFrame } from './frame.js';
import { listSegments, parseHeader } from './segment.js';

/**
 * `ronctl audit wal-prune` (format §9.5): remove the oldest WAL segments whose every record the
 * export holds under a checkpoint that verifies. A segment goes only when the one after it starts
 * at or below the export's size and carries the log's state in its header (so recovery can start
 * there) and a checkpoint frame (which proves that state at start-up). The newest segment always
 * stays. Safe while the engine runs: it appends only to the newest segment, and reads older ones
 * only at start-up. With PostgreSQL shipping, prune only what the database holds too.
 */

export interface PruneResult {
  readonly removed: readonly string[];
  readonly kept: number;
  /** The export's verified size the prune was measured against. */
  readonly exportSize: number;
}

export async function pruneWal(opts: { walDir: string; exportDir: string; keys: readonly string[]; ops?: FileOps }): Promise<PruneResult> {
  if (opts === null || typeof opts !== 'object') throw invalidArgument('options', '{walDir, exportDir, keys}', opts);
  if (typeof opts.walDir !== 'string' || opts.walDir.length === 0) throw invalidArgument('walDir', 'a WAL directory path', opts.walDir);
  if (typeof opts.exportDir !== 'string' || opts.exportDir.length === 0) throw invalidArgument('exportDir', 'an export directory path', opts.exportDir);
  const ops = opts.ops ?? nodeFileOps;
  const segments = listSegments(await ops.readdir(opts.walDir));
  const report = await verifyExport({ dir: opts.exportDir, keys: opts.keys, full: false, ops });
  if (!report.ok || report.origin === null) {
    throw new AuditError('AUDIT_VERIFY_FAILED', `the export in ${opts.exportDir} does not verify (${report.failure?.reason ?? 'no checkpoint'}); nothing pruned`, { reason: report.failure?.reason ?? null });
  }
  const removed: string[] = [];
  for (let i = 0; i + 1 < segments.length; i++) {
    const next = segments[i + 1]!;
    if (next.firstSeq > report.size) break;
    const buf = await ops.readFile(join(opts.walDir, next.name));
    const h = hasMagic(buf) ? readFrame(buf, MAGIC.length) : undefined;
    const header = h?.ok && h.type === FRAME_HEADER ? parseHeader(h.payload) : undefined;
    if (h === undefined || !h.ok || header === undefined) break;
    if (header.origin !== report.origin) {
      throw invalidArgument('walDir', `a WAL of the export's log ${report.origin}`, `segment ${next.name} of log ${header.origin}`);
    }
    let hasCheckpoint = false;
    for (let off = h.next; off < buf.length; ) {
      const f = readFrame(buf, off);
      if (!f.ok) break;
      if (f.type === FRAME_CHECKPOINT) {
        hasCheckpoint = true;
        break;
      }
      off = f.next;
    }
    if (header.state === undefined || !hasCheckpoint) break;
    await ops.unlink(join(opts.walDir, segments[i]!.name));
    removed.push(segments[i]!.name);
  }
  if (removed.length > 0) await ops.syncDir(opts.walDir);
  return { removed, kept: segments.length - removed.length, exportSize: report.size };
}
