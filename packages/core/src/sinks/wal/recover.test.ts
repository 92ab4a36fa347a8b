import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyDir, keystore, tempDir } from '../../../test/helpers.js';
import { createAudit } from '../../create-audit.js';
import type { AuditEngine, CreateAuditOptions } from '../../api.js';
import { isAuditError } from '../../errors.js';
import { verifyLog } from '../../verify/verify.js';
import { FRAME_OVERHEAD, MAGIC, readFrame, FRAME_CHECKPOINT, FRAME_RECORD, FRAME_SYNC } from './frame.js';

const V1_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/wal-v1', import.meta.url));

const ev = (i: number) => ({ action: 'test.write', outcome: 'success' as const, attributes: { i, pad: 'p'.repeat(i % 50) } });

async function macronode(root: string, extra: Partial<CreateAuditOptions> = {}): Promise<{ opts: CreateAuditOptions; audit: AuditEngine }> {
  const keys = await keystore(root);
  const opts: CreateAuditOptions = { ...keys, walEnabled: true, walDir: join(root, 'wal'), origin: 'test.local/wal', env: {}, ...extra };
  const audit = createAudit(opts);
  await audit.ready();
  return { opts, audit };
}

async function writeRecords(audit: AuditEngine, from: number, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, k) => audit.emitDurable(ev(from + k))));
  await audit.flush();
}

function verifies(audit: AuditEngine): { ok: boolean; size: number } {
  const s = audit.snapshot();
  const r = verifyLog({ origin: s.origin, records: s.records, checkpoint: s.checkpoint!, keys: [s.verifierKey] });
  return { ok: r.ok, size: r.verified };
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.wal')).sort().map((f) => join(dir, f));
}

/** Offsets of every frame in a segment, with its type. */
function frames(path: string): { offset: number; type: number; end: number }[] {
  const buf = new Uint8Array(readFileSync(path));
  const out: { offset: number; type: number; end: number }[] = [];
  let off = MAGIC.length;
  while (off < buf.length) {
    const f = readFrame(buf, off);
    if (!f.ok) break;
    out.push({ offset: off, type: f.type, end: f.next });
    off = f.next;
  }
  return out;
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('WAL recovery', () => {
  it('resumes seq, prev and the tree exactly after a clean close', async () => {
    const root = tempDir();
    const { opts, audit } = await macronode(root);
    await writeRecords(audit, 0, 300);
    const headBefore = audit.snapshot().records.at(-1)!;
    await audit.close();

    const again = createAudit(opts);
    await again.ready();
    expect(again.health().log.size).toBe(300);
    expect(again.health().profile).toBe('macronode');
    const r = await again.emitDurable(ev(300));
    expect(r).toMatchObject({ seq: 300, durable: true });
    await again.flush();
    const snap = again.snapshot();
    expect(snap.records[299]).toEqual(headBefore);
    expect(verifies(again)).toEqual({ ok: true, size: 301 });
    await again.close();
  });

  it('adopts the origin recorded in the WAL when AUDIT_ORIGIN is not set', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    const first = createAudit({ ...keys, walEnabled: true, walDir: join(root, 'wal'), env: {} });
    await first.ready();
    await writeRecords(first, 0, 5);
    await first.close();
    const second = createAudit({ ...keys, walEnabled: true, walDir: join(root, 'wal'), env: {} });
    await second.ready();
    expect(second.origin).toBe(first.origin);
    expect(second.health().log.size).toBe(5);
    await second.close();
  });

  it('truncates a torn unsigned tail and keeps every intact record', async () => {
    const root = tempDir();
    const { opts, audit } = await macronode(root);
    await writeRecords(audit, 0, 50);
    await audit.close();
    const [seg] = segmentFiles(opts.walDir!);
    const size = statSync(seg!).size;
    appendFileSync(seg!, Buffer.from([0, 0, 0, 40, FRAME_RECORD, 1, 2, 3])); // a frame cut mid-payload
    const again = createAudit(opts);
    await again.ready();
    expect(again.health().log.size).toBe(50);
    expect(statSync(seg!).size).toBe(size);
    expect(verifies(again).ok).toBe(true);
    await again.close();
  });

  it('drops a last write whose checkpoint frame never reached the disk: its records were never acknowledged, and nothing unproven is signed', async () => {
    const root = tempDir();
    const { opts, audit } = await macronode(root);
    await writeRecords(audit, 0, 32);
    const acked = audit.snapshot().records.slice();
    await audit.close();
    const [seg] = segmentFiles(opts.walDir!);
    const before = statSync(seg!).size;
    // A last write cut before its checkpoint frame: records 32..39 with no signature over them.
    const again0 = createAudit(opts);
    await again0.ready();
    await writeRecords(again0, 32, 8);
    await again0.close();
    const fs = frames(seg!);
    const lastCp = fs.filter((f) => f.type === FRAME_CHECKPOINT).at(-1)!;
    truncateSync(seg!, lastCp.offset);
    const again = createAudit(opts);
    await again.ready();
    expect(again.health().log).toMatchObject({ size: 32, checkpointSize: 32 });
    expect(again.snapshot().records).toEqual(acked);
    expect(statSync(seg!).size).toBeGreaterThanOrEqual(before);
    expect(verifies(again)).toEqual({ ok: true, size: 32 });
    await again.close();
  });

  it('protocol 1 fixture: keeps fsynced records whose checkpoint frame never reached the disk, and signs them', async () => {
    const root = tempDir();
    copyDir(V1_FIXTURE, root);
    chmodSync(join(root, 'keys'), 0o700);
    chmodSync(join(root, 'keys', 'k.key'), 0o600);
    const seg = join(root, 'wal', '00000000000000000000.wal');
    const lastCp = frames(seg).filter((f) => f.type === FRAME_CHECKPOINT).at(-1)!;
    expect(lastCp.end).toBe(statSync(seg).size);
    truncateSync(seg, lastCp.offset);
    const opts: CreateAuditOptions = { walEnabled: true, walDir: join(root, 'wal'), keystoreDir: join(root, 'keys'), keyId: 'k', origin: 'test.local/wal-v1', env: {} };
    const again = createAudit(opts);
    await again.ready();
    expect(again.health().log).toMatchObject({ size: 45, checkpointSize: 45 });
    expect(verifies(again)).toEqual({ ok: true, size: 45 });
    // The engine never appends to a protocol 1 segment: the new checkpoint went into a protocol 2 one.
    expect(segmentFiles(join(root, 'wal')).map((p) => p.split('/').at(-1))).toEqual(['00000000000000000000.wal', '00000000000000000045.wal']);
    expect(statSync(seg).size).toBe(lastCp.offset);
    await again.close();
    const third = createAudit(opts);
    await third.ready();
    expect(third.health().log.size).toBe(45);
    await third.close();
  });

  it('protocol 1 fixture: recovers the whole log written by the older engine and continues it', async () => {
    const root = tempDir();
    copyDir(V1_FIXTURE, root);
    chmodSync(join(root, 'keys'), 0o700);
    chmodSync(join(root, 'keys', 'k.key'), 0o600);
    const opts: CreateAuditOptions = { walEnabled: true, walDir: join(root, 'wal'), keystoreDir: join(root, 'keys'), keyId: 'k', env: {} };
    const again = createAudit(opts);
    await again.ready();
    expect(again.origin).toBe('test.local/wal-v1');
    expect(again.health().log).toMatchObject({ size: 45, checkpointSize: 45 });
    await writeRecords(again, 45, 10);
    expect(verifies(again)).toEqual({ ok: true, size: 55 });
    await again.close();
    const third = createAudit(opts);
    await third.ready();
    expect(third.health().log.size).toBe(55);
    expect(verifies(third)).toEqual({ ok: true, size: 55 });
    await third.close();
  });

  it('refuses to start when a signed record is damaged, and changes nothing on disk', async () => {
    const root = tempDir();
    const { opts, audit } = await macronode(root);
    await writeRecords(audit, 0, 64);
    await audit.close();
    const [seg] = segmentFiles(opts.walDir!);
    const rec = frames(seg!).filter((f) => f.type === FRAME_RECORD)[10]!;
    const buf = readFileSync(seg!);
    buf[rec.offset + 5 + 20]! ^= 0x01;
    writeFileSync(seg!, buf);
    const digest = sha(seg!);
    const again = createAudit(opts);
    const err = await again.ready().catch((e: unknown) => e);
    expect(isAuditError(err, 'AUDIT_WAL_CORRUPT')).toBe(true);
    expect((err as Error).message).toMatch(/seq 10/);
    const h = again.health();
    expect(h.ready).toBe(false);
    expect(h.reasons[0]?.code).toBe('AUDIT_WAL_CORRUPT');
    expect(() => again.emit(ev(0))).toThrow(expect.objectContaining({ code: 'AUDIT_NOT_READY' }));
    expect(sha(seg!)).toBe(digest);
    await again.close();
  });

  it('refuses damage in a segment that is not the last', async () => {
    const root = tempDir();
    const { opts, audit } = await macronode(root, { walSegmentBytes: 64 * 1024 });
    for (let i = 0; i < 6; i++) await writeRecords(audit, i * 100, 100);
    await audit.close();
    const segs = segmentFiles(opts.walDir!);
    expect(segs.length).toBeGreaterThan(1);
    const buf = readFileSync(segs[0]!);
    buf[buf.length - FRAME_OVERHEAD - 3]! ^= 0xff;
    writeFileSync(segs[0]!, buf);
    const again = createAudit(opts);
    await expect(again.ready()).rejects.toMatchObject({ code: 'AUDIT_WAL_CORRUPT' });
    await again.close();
  });

  it('rotates segments at batch boundaries and recovers across them', async () => {
    const root = tempDir();
    const { opts, audit } = await macronode(root, { walSegmentBytes: 64 * 1024 });
    for (let i = 0; i < 6; i++) await writeRecords(audit, i * 100, 100);
    await audit.close();
    const segs = segmentFiles(opts.walDir!);
    expect(segs.length).toBeGreaterThan(2);
    const again = createAudit(opts);
    await again.ready();
    expect(again.health().log.size).toBe(600);
    expect(verifies(again)).toEqual({ ok: true, size: 600 });
    await again.close();
  });

  it('refuses a WAL that belongs to another log', async () => {
    const root = tempDir();
    const { opts, audit } = await macronode(root);
    await writeRecords(audit, 0, 3);
    await audit.close();
    const other = createAudit({ ...opts, origin: 'test.local/another' });
    await expect(other.ready()).rejects.toMatchObject({ code: 'AUDIT_WAL_CORRUPT' });
    await other.close();
  });
});

describe('WAL power-loss simulation', () => {
  it('never loses a durable record nor rolls back a signed size, whatever the unsynced tail holds', async () => {
    const root = tempDir();
    const { opts, audit } = await macronode(root);
    await writeRecords(audit, 0, 200);
    const synced = segmentFiles(opts.walDir!).map((p) => ({ path: p, size: statSync(p).size }));
    const signedSize = audit.checkpoint()!.size;
    const durableRecords = audit.snapshot().records.slice();
    // The "unsynced" region: the one write that can be in flight at a crash — the next batch's
    // record frames and its checkpoint frame (protocol 2 writes them together; the appender never
    // starts a write before the previous fsync returned). The sync mark after it is written only
    // once that fsync returned, so a file that holds it is no power-loss state: the cut stays
    // before it, and the flips stay in the records (a flipped checkpoint frame is the same case).
    await writeRecords(audit, 200, 20);
    await audit.close();
    const last = synced.at(-1)!;
    const all = readFileSync(last.path);
    const syncAt = frames(last.path).filter((f) => f.type === FRAME_SYNC).at(-1)!.offset;
    const full = all.subarray(0, syncAt);
    const batchEnd = frames(last.path).filter((f) => f.type === FRAME_CHECKPOINT).at(-1)!.offset;
    expect(batchEnd).toBeGreaterThan(last.size);
    expect(syncAt).toBeGreaterThan(batchEnd);

    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let trial = 0; trial < 80; trial++) {
      const dir = join(root, `trial-${trial}`);
      copyDir(opts.walDir!, dir);
      const cut = last.size + rnd(full.length - last.size + 1);
      const bytes = Buffer.from(full.subarray(0, cut));
      const flips = trial % 2 === 0 ? 0 : 1 + rnd(4);
      const flipEnd = Math.min(cut, batchEnd);
      for (let f = 0; f < flips && flipEnd > last.size; f++) bytes[last.size + rnd(flipEnd - last.size)]! ^= 1 << rnd(8);
      writeFileSync(join(dir, last.path.split('/').at(-1)!), bytes);
      const engine = createAudit({ ...opts, walDir: dir });
      await engine.ready();
      const h = engine.health();
      expect(h.log.size, `trial ${trial} cut ${cut}`).toBeGreaterThanOrEqual(durableRecords.length);
      expect(h.log.checkpointSize).toBeGreaterThanOrEqual(signedSize);
      const snap = engine.snapshot();
      for (let i = 0; i < durableRecords.length; i++) expect(snap.records[i]).toEqual(durableRecords[i]);
      expect(verifies(engine).ok).toBe(true);
      await engine.close();
    }
  }, 60_000);
});
