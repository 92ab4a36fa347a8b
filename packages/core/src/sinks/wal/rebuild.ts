import { constants } from 'node:fs';
import { join } from 'node:path';
import { AuditError, invalidArgument } from '../../errors.js';
import { readExportRange } from '../../verify/export.js';
import { DIR_MODE, FILE_MODE, nodeFileOps, type FileOps } from '../fs.js';
import { parseCheckpointNote, readOptional } from '../export/reader.js';
import { FRAME_CHECKPOINT, FRAME_HEADER, FRAME_RECORD, FRAME_SYNC, MAGIC, SYNC_PAYLOAD_BYTES, frameSize, syncPayload, writeFrame } from './frame.js';
import { headerPayload, listSegments, segmentName } from './segment.js';

/**
 * `ronctl audit wal-rebuild` (docs/runbook.md "WAL corrupt"): write a new write-ahead log from an
 * export that verifies — its records and its published checkpoint as one protocol 2 commit — so
 * an engine whose WAL was refused as corrupt can start again from everything the export proves.
 * Records the damaged WAL held beyond the export are not in it: they were never published, and
 * the damaged WAL (moved aside, never deleted) is the evidence of what happened to them.
 */

export interface RebuildResult {
  readonly origin: string;
  readonly size: number;
  readonly segment: string;
}

const utf8 = new TextEncoder();

export async function rebuildWalFromExport(opts: { exportDir: string; walDir: string; keys: readonly string[]; ops?: FileOps }): Promise<RebuildResult> {
  if (opts === null || typeof opts !== 'object') throw invalidArgument('options', '{exportDir, walDir, keys}', opts);
  if (typeof opts.exportDir !== 'string' || opts.exportDir.length === 0) throw invalidArgument('exportDir', 'an export directory path', opts.exportDir);
  if (typeof opts.walDir !== 'string' || opts.walDir.length === 0) throw invalidArgument('walDir', 'a WAL directory path', opts.walDir);
  const ops = opts.ops ?? nodeFileOps;
  let existing: string[] = [];
  try {
    existing = await ops.readdir(opts.walDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (listSegments(existing).length > 0) {
    throw invalidArgument('walDir', 'an empty or missing directory (move the damaged WAL aside first: it is evidence, never delete it)', `${opts.walDir} holding ${listSegments(existing).length} segment(s)`);
  }
  const { records, report } = await readExportRange({ dir: opts.exportDir, keys: opts.keys, from: 0, to: Number.MAX_SAFE_INTEGER, ops });
  if (!report.ok || report.origin === null) {
    throw new AuditError('AUDIT_VERIFY_FAILED', `the export in ${opts.exportDir} does not verify (${report.failure?.reason ?? 'no checkpoint'}: ${report.failure?.message ?? 'empty export'}); a WAL is rebuilt only from an export that verifies`, { reason: report.failure?.reason ?? null });
  }
  const raw = await readOptional(ops, join(opts.exportDir, 'checkpoint'));
  const note = raw === null ? undefined : parseCheckpointNote(raw);
  if (note === undefined || note.checkpoint.size !== report.size || records.length !== report.size || records.some((r, i) => r.seq !== i)) {
    throw new AuditError('AUDIT_VERIFY_FAILED', `the export in ${opts.exportDir} changed while it was read (checkpoint of size ${note?.checkpoint.size ?? 'none'}, ${records.length} records read, ${report.size} verified); run again`, {});
  }
  const noteBytes = utf8.encode(note.note);
  const header = headerPayload(report.origin, 0);
  let total = MAGIC.length + frameSize(header.length) + frameSize(noteBytes.length) + frameSize(SYNC_PAYLOAD_BYTES);
  for (const r of records) total += frameSize(r.bytes.length);
  const buf = Buffer.allocUnsafe(total);
  buf.set(MAGIC, 0);
  let off = writeFrame(buf, MAGIC.length, FRAME_HEADER, header);
  for (const r of records) off = writeFrame(buf, off, FRAME_RECORD, r.bytes);
  off = writeFrame(buf, off, FRAME_CHECKPOINT, noteBytes);
  off = writeFrame(buf, off, FRAME_SYNC, syncPayload(off));

  await ops.mkdir(opts.walDir, DIR_MODE);
  const name = segmentName(0);
  const tmp = join(opts.walDir, `${name}.rebuild.tmp`);
  const fh = await ops.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, FILE_MODE);
  try {
    let done = 0;
    while (done < buf.length) done += (await fh.write(buf, done, buf.length - done, done)).bytesWritten;
    await fh.sync();
  } finally {
    await fh.close();
  }
  await ops.rename(tmp, join(opts.walDir, name));
  await ops.syncDir(opts.walDir);
  return { origin: report.origin, size: report.size, segment: name };
}
