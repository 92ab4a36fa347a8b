import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { main, type CliIo } from '../../cli/ronctl.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keystore, tempDir } from '../../../test/helpers.js';
import { createAudit } from '../../create-audit.js';
import type { AuditEngine, CreateAuditOptions } from '../../api.js';
import { isAuditError } from '../../errors.js';
import { parseCheckpoint } from '../../log/checkpoint.js';
import { parseNote } from '../../sign/note.js';
import { verifyLog } from '../../verify/verify.js';
import { FRAME_CHECKPOINT, FRAME_RECORD, FRAME_SYNC, MAGIC, frameCrc } from './frame.js';
import { frameSpans } from './mutation.js';

/**
 * The reproductions of the issue "Hostile input and damaged disks" (items 1–3 and the WAL part of
 * 8), each as an operator with disk access but no signing key would try them, and each ending in
 * a loud refusal — or, where the bytes were never acknowledged, in nothing unproven being signed.
 */

const ev = (i: number) => ({ action: 'test.write', outcome: 'success' as const, actor: { id: 'alice' }, attributes: { i } });

async function durableRecords(audit: AuditEngine, from: number, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, k) => audit.emitDurable(ev(from + k))));
  await audit.flush();
}

function segments(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();
}

const frames = frameSpans;

/** Replace `from` by `to` (same length) inside the frame at `f` and recompute its CRC, as anyone can. */
function forgeInFrame(buf: Buffer, f: { offset: number; end: number }, from: string, to: string): void {
  expect(to.length).toBe(from.length);
  const payload = buf.subarray(f.offset + 5, f.end - 4);
  const at = payload.indexOf(from);
  expect(at).toBeGreaterThanOrEqual(0);
  payload.write(to, at, 'latin1');
  buf.writeUInt32BE(frameCrc(buf[f.offset + 4]!, payload) >>> 0, f.end - 4);
}

/** Change "alice" to "mallo" in the first segment's last record frame and recompute its CRC, in place; returns the segment's path. */
function forgeLastRecord(walDir: string): string {
  const seg = join(walDir, segments(walDir)[0]!);
  const buf = readFileSync(seg);
  const last = frames(buf).filter((f) => f.type === FRAME_RECORD).at(-1)!;
  forgeInFrame(buf, last, '"alice"', '"mallo"');
  writeFileSync(seg, buf);
  return seg;
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A fresh, ready Macronode log under a temporary root (more options from `extra`). */
async function openLog(origin: string, extra: (root: string) => Partial<CreateAuditOptions> = () => ({})): Promise<{ root: string; opts: CreateAuditOptions; first: AuditEngine }> {
  const root = tempDir();
  const keys = await keystore(root);
  const opts: CreateAuditOptions = { ...keys, walEnabled: true, walDir: join(root, 'wal'), origin, env: {}, ...extra(root) };
  const first = createAudit(opts);
  await first.ready();
  return { root, opts, first };
}

async function refusal(opts: CreateAuditOptions): Promise<{ err: unknown; audit: AuditEngine }> {
  const audit = createAudit(opts);
  const err = await audit.ready().catch((e: unknown) => e);
  return { err, audit };
}

describe('hostile disks (issue items 1–3, 8)', () => {
  it('item 1: one flipped byte in the segment header of a log with the default origin is refused, never truncated into a new log', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    const opts: CreateAuditOptions = { ...keys, walEnabled: true, walDir: join(root, 'wal'), env: {} };
    const first = createAudit(opts);
    await first.ready();
    await durableRecords(first, 0, 300);
    const origin = first.origin;
    await first.close();
    const seg = join(opts.walDir!, segments(opts.walDir!)[0]!);
    const buf = readFileSync(seg);
    buf[20]! ^= 0x01;
    writeFileSync(seg, buf);
    const digest = sha(seg);

    const { err, audit } = await refusal(opts);
    expect(isAuditError(err, 'AUDIT_WAL_CORRUPT')).toBe(true);
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({ reason: 'header', segment: '00000000000000000000.wal', offset: MAGIC.length });
    expect((err as Error).message).toMatch(/segment header is damaged/);
    expect(audit.health()).toMatchObject({ ready: false, log: { size: 0 } });
    expect(audit.health().reasons[0]?.code).toBe('AUDIT_WAL_CORRUPT');
    expect(() => audit.emit(ev(0))).toThrow(expect.objectContaining({ code: 'AUDIT_NOT_READY' }));
    await audit.close();
    expect(sha(seg)).toBe(digest);
    expect(segments(opts.walDir!)).toEqual(['00000000000000000000.wal']);

    // Put the byte back: the same log, the same origin, every record.
    buf[20]! ^= 0x01;
    writeFileSync(seg, buf);
    const healed = createAudit(opts);
    await healed.ready();
    expect(healed.origin).toBe(origin);
    expect(healed.health().log.size).toBe(300);
    await healed.close();
  });

  it('item 2: a forged record whose CRC was recomputed, before a checkpoint frame, is refused and never signed', async () => {
    const { opts, first } = await openLog('test.local/forge');
    await durableRecords(first, 0, 20);
    await first.close();
    const seg = forgeLastRecord(opts.walDir!);
    const digest = sha(seg);

    const { err, audit } = await refusal(opts);
    expect(isAuditError(err, 'AUDIT_WAL_CORRUPT')).toBe(true);
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({ reason: 'checkpoint', seq: 20 });
    expect(audit.health().ready).toBe(false);
    await audit.close();
    expect(sha(seg)).toBe(digest);
  });

  it('item 2: a forged last record with the checkpoint frames after it cut away is dropped as never acknowledged, not signed', async () => {
    const { opts, first } = await openLog('test.local/forge-cut');
    await durableRecords(first, 0, 12);
    const committed = first.snapshot().records.slice();
    await durableRecords(first, 12, 1);
    await first.close();
    const seg = join(opts.walDir!, segments(opts.walDir!)[0]!);
    const buf = readFileSync(seg);
    const fs = frames(buf);
    const last = fs.filter((f) => f.type === FRAME_RECORD).at(-1)!;
    forgeInFrame(buf, last, '"alice"', '"mallo"');
    // Without the signing key nothing can cover the forgery: cut the checkpoint and sync mark after it.
    writeFileSync(seg, buf.subarray(0, last.end));

    const again = createAudit(opts);
    await again.ready();
    const snap = again.snapshot();
    expect(snap.records).toEqual(committed);
    expect(again.health().log).toMatchObject({ size: 12, checkpointSize: 12 });
    expect(JSON.stringify((await again.read()).map((r) => r.record))).not.toContain('mallo');
    await again.close();
  });

  it('item 2: a WAL that disagrees with the export about a record both hold is refused (the export is a witness of the WAL)', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    const base = { ...keys, walEnabled: true, exportEnabled: true, checkpointEvery: 1, checkpointIntervalMs: 100, origin: 'test.local/fork', env: {} };
    // Two histories of the same log under the same key: one exported, the other's WAL put in its place.
    const a = createAudit({ ...base, walDir: join(root, 'wal-a'), exportDir: join(root, 'export') });
    await a.ready();
    await durableRecords(a, 0, 10);
    await a.close();
    const b = createAudit({ ...base, walDir: join(root, 'wal-b'), exportDir: join(root, 'export-b') });
    await b.ready();
    await durableRecords(b, 100, 10);
    await b.close();
    const published = parseCheckpoint(parseNote(readFileSync(join(root, 'export', 'checkpoint'), 'utf8')).text);
    expect(published.size).toBe(10);

    const { err, audit } = await refusal({ ...base, walDir: join(root, 'wal-b'), exportDir: join(root, 'export') });
    expect(isAuditError(err, 'AUDIT_WAL_CORRUPT')).toBe(true);
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({ reason: 'export_mismatch' });
    expect((err as Error).message).toMatch(/disagree/);
    expect(audit.health().ready).toBe(false);
    await audit.close();
  });

  it('item 2: ronctl audit verify --wal-dir with an older genuine export beside a WAL forged after it fails wal_mismatch, not OK', async () => {
    const { root, opts, first } = await openLog('test.local/forge-verify', (root) => ({ exportEnabled: true, exportDir: join(root, 'export'), checkpointEvery: 1, checkpointIntervalMs: 100 }));
    await durableRecords(first, 0, 10);
    await first.flush();
    cpSync(opts.exportDir!, join(root, 'export-old'), { recursive: true });
    await durableRecords(first, 10, 5);
    const vkey = first.verifierKey();
    await first.close();
    forgeLastRecord(opts.walDir!);
    let out = '';
    const io: CliIo = { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => true }, env: {}, cwd: root };
    const code = await main(['audit', 'verify', '--export-dir', 'export-old', '--wal-dir', 'wal', '--key', vkey], io);
    expect(code, out).toBe(1);
    expect(out).toMatch(/FAIL: wal_mismatch: the WAL's checkpoint frame of size 15 .* does not match the WAL's records/);
  });

  it('item 3: an empty or missing AUDIT_WAL_DIR next to an existing export is refused with AUDIT_ROLLBACK, default origin or not', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    const exportDir = join(root, 'export');
    const first = createAudit({ ...keys, walEnabled: true, walDir: join(root, 'wal'), exportEnabled: true, exportDir, checkpointEvery: 1, checkpointIntervalMs: 100, env: {} });
    await first.ready();
    await durableRecords(first, 0, 25);
    await first.close();
    const exported = readFileSync(join(exportDir, 'checkpoint'), 'utf8');

    for (const walDir of [join(root, 'missing'), join(root, 'empty')]) {
      if (walDir.endsWith('empty')) mkdirSync(walDir);
      for (const origin of [undefined, first.origin]) {
        const { err, audit } = await refusal({ ...keys, walEnabled: true, walDir, exportEnabled: true, exportDir, env: {}, ...(origin ? { origin } : {}) });
        expect(isAuditError(err, 'AUDIT_ROLLBACK'), `${walDir} origin ${origin}: ${String(err)}`).toBe(true);
        expect(audit.health().ready).toBe(false);
        expect(audit.health().reasons[0]?.code).toBe('AUDIT_ROLLBACK');
        await audit.close();
      }
      expect(existsSync(walDir) ? segments(walDir) : []).toEqual([]);
    }
    expect(readFileSync(join(exportDir, 'checkpoint'), 'utf8')).toBe(exported);
  });

  it('item 8: a flipped bit in a durable-acked record of the last batch is refused, not dropped with everything after it', async () => {
    const { opts, first } = await openLog('test.local/last-batch');
    await durableRecords(first, 0, 30);
    await durableRecords(first, 30, 5);
    await first.close();
    const seg = join(opts.walDir!, segments(opts.walDir!)[0]!);
    const buf = readFileSync(seg);
    const recs = frames(buf).filter((f) => f.type === FRAME_RECORD);
    const target = recs[31]!;
    buf[target.offset + 40]! ^= 0x04;
    writeFileSync(seg, buf);
    const digest = sha(seg);
    const { err, audit } = await refusal(opts);
    expect(isAuditError(err, 'AUDIT_WAL_CORRUPT')).toBe(true);
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({ reason: 'frame_damaged', seq: 31, offset: target.offset });
    await audit.close();
    expect(sha(seg)).toBe(digest);
  });

  it('every durable acknowledgement comes after a checkpoint frame covering the record and a sync mark are in the file (protocol 2)', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    const opts: CreateAuditOptions = { ...keys, walEnabled: true, walDir: join(root, 'wal'), origin: 'test.local/acks', env: {} };
    const audit = createAudit(opts);
    await audit.ready();
    for (let round = 0; round < 5; round++) {
      const acks = await Promise.all(Array.from({ length: 3 + round * 7 }, (_, k) => audit.emitDurable(ev(round * 100 + k))));
      // Read the file the moment the acks resolved: nothing else has been written since.
      const buf = readFileSync(join(opts.walDir!, segments(opts.walDir!)[0]!));
      const fs = frames(buf);
      const maxSeq = Math.max(...acks.map((a) => a.seq));
      const recordIndex = fs.filter((f) => f.type === FRAME_RECORD).length;
      expect(recordIndex).toBeGreaterThan(maxSeq);
      const cpAfter = fs.findIndex((f, i) => {
        if (f.type !== FRAME_CHECKPOINT) return false;
        const seen = fs.slice(0, i).filter((g) => g.type === FRAME_RECORD).length;
        return seen > maxSeq;
      });
      expect(cpAfter, `round ${round}`).toBeGreaterThan(0);
      expect(fs.slice(cpAfter).some((f) => f.type === FRAME_SYNC)).toBe(true);
    }
    const snap = audit.snapshot();
    expect(verifyLog({ origin: snap.origin, records: snap.records, checkpoint: snap.checkpoint!, keys: [snap.verifierKey] }).ok).toBe(true);
    await audit.close();
  });
});
