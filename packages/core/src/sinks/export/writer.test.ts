import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { isAuditError } from '../../errors.js';
import { leafHash } from '../../prim/hash.js';
import { decodeBundle, TILE_WIDTH } from '../../log/tiles.js';
import { metricsFor } from '../../metrics.js';
import { verifyExport } from '../../verify/export.js';
import { nodeFileOps, withFaults } from '../fs.js';
import { ExportWriter } from './writer.js';
import { buildRecords, listFiles, seed, signCheckpoint, T0, vkeyOf, writeExport } from '../../../test/support/export-log.js';
import { cleanup, metricValue, sleep, tempDir } from '../../../test/support/engine.js';

afterAll(cleanup);

const KEYS = [vkeyOf(seed(1))];
const records = buildRecords(1000);
const offer = (w: ExportWriter, size: number): void => w.offerCheckpoint({ note: signCheckpoint(records, size), size, time: T0 + size });

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(5);
  }
}

/** What mkdir/open with `mode` gives under this process's umask. */
async function effectiveMode(dir: string, mode: number): Promise<number> {
  const probe = join(dir, `probe-${mode.toString(8)}`);
  await mkdir(probe, { mode });
  const m = (await stat(probe)).mode & 0o777;
  await rm(probe, { recursive: true });
  return m;
}

describe('ExportWriter layout', () => {
  it('publishes full and partial bundles and tiles of every level, then the checkpoint', async () => {
    const dir = join(await tempDir(), 'export');
    const notes = await writeExport(dir, records, [300]);
    expect(await listFiles(dir)).toEqual(['checkpoint', 'tile/0/000', 'tile/0/001.p/44', 'tile/1/000.p/1', 'tile/entries/000', 'tile/entries/001.p/44']);
    expect(await readFile(join(dir, 'checkpoint'), 'utf8')).toBe(notes.get(300));
    const bundle = decodeBundle(new Uint8Array(await readFile(join(dir, 'tile/entries/000'))))!;
    expect(bundle).toHaveLength(256);
    expect(Buffer.from(bundle[7]!).equals(Buffer.from(records[7]!))).toBe(true);
    const tile0 = new Uint8Array(await readFile(join(dir, 'tile/0/000')));
    expect(tile0.length).toBe(8192);
    expect(Buffer.from(tile0.subarray(32 * 9, 32 * 10)).equals(Buffer.from(leafHash(records[9]!)))).toBe(true);
    expect((await readFile(join(dir, 'tile/0/001.p/44'))).length).toBe(44 * 32);
    const report = await verifyExport({ dir, keys: KEYS });
    expect(report).toMatchObject({ ok: true, size: 300, verified: 300 });
  });

  it('creates directories 0750 and files 0640 (as the umask allows) and leaves no temporary files', async () => {
    const base = await tempDir();
    const dir = join(base, 'export');
    await writeExport(dir, records, [100, 513]);
    const dirMode = await effectiveMode(base, 0o750);
    const files = await listFiles(dir);
    expect(files.some((f) => f.includes('.tmp-'))).toBe(false);
    for (const f of files) expect((await stat(join(dir, f))).mode & 0o777).toBe(0o640 & dirMode);
    for (const d of ['.', 'tile', 'tile/0', 'tile/entries', 'tile/1', 'tile/0/002.p']) expect((await stat(join(dir, d))).mode & 0o777).toBe(dirMode);
  });

  it('keeps older partial tiles until the full tile exists, then deletes them (tlog-tiles)', async () => {
    const dir = join(await tempDir(), 'export');
    const w = await ExportWriter.open({ dir, every: 1_000_000, intervalMs: 3_600_000 });
    w.addRecords(0, records.slice(0, 100));
    offer(w, 100);
    await w.flush();
    w.addRecords(100, records.slice(100, 200));
    offer(w, 200);
    await w.flush();
    expect((await listFiles(dir)).filter((f) => f.includes('.p/'))).toEqual(['tile/0/000.p/100', 'tile/0/000.p/200', 'tile/entries/000.p/100', 'tile/entries/000.p/200']);
    expect((await verifyExport({ dir, keys: KEYS })).ok).toBe(true);
    w.addRecords(200, records.slice(200, 300));
    offer(w, 300);
    await w.flush();
    expect((await listFiles(dir)).filter((f) => f.includes('.p/'))).toEqual(['tile/0/001.p/44', 'tile/1/000.p/1', 'tile/entries/001.p/44']);
    await w.close();
  });

  it('writes the same bytes whether published in one step or many', async () => {
    const a = join(await tempDir(), 'a');
    const b = join(await tempDir(), 'b');
    await writeExport(a, records, [1000]);
    await writeExport(b, records, [1, 255, 256, 257, 511, 700, 1000]);
    const fa = await listFiles(a);
    // b also keeps the older level-1 partials: tile/1/000 will not be full before 65 536 records.
    expect((await listFiles(b)).filter((f) => !fa.includes(f))).toEqual(['tile/1/000.p/1', 'tile/1/000.p/2']);
    for (const f of fa) expect(Buffer.compare(await readFile(join(a, f)), await readFile(join(b, f))), f).toBe(0);
  });
});

describe('ExportWriter restart', () => {
  it('continues an existing export exactly where its checkpoint left it', async () => {
    const dir = join(await tempDir(), 'export');
    await writeExport(dir, records, [300]);
    const w = await ExportWriter.open({ dir, every: 1_000_000, intervalMs: 3_600_000 });
    expect(w.publishedSize).toBe(300);
    expect(w.publishedNote).toBe(signCheckpoint(records, 300));
    expect(w.publishedTime).toBe(T0 + 300 * 1000);
    expect(isAuditError((() => { try { w.addRecords(299, records.slice(299, 300)); } catch (e) { return e; } })(), 'AUDIT_INVALID_ARGUMENT')).toBe(true);
    w.addRecords(300, records.slice(300, 700));
    offer(w, 700);
    await w.close();
    const fresh = join(await tempDir(), 'fresh');
    await writeExport(fresh, records, [700]);
    for (const f of await listFiles(fresh)) expect(Buffer.compare(await readFile(join(dir, f)), await readFile(join(fresh, f))), f).toBe(0);
    expect((await verifyExport({ dir, keys: KEYS })).ok).toBe(true);
  });

  it('after a restart, deletes the partials of the right edge it continued from once their full tiles are published', async () => {
    const dir = join(await tempDir(), 'export');
    await writeExport(dir, records, [100, 200]);
    expect((await listFiles(dir)).filter((f) => f.includes('.p/'))).toEqual(['tile/0/000.p/100', 'tile/0/000.p/200', 'tile/entries/000.p/100', 'tile/entries/000.p/200']);
    const w = await ExportWriter.open({ dir, every: 1_000_000, intervalMs: 3_600_000 });
    w.addRecords(200, records.slice(200, 300));
    offer(w, 300);
    await w.close();
    // The same partials as one process publishing 100, 200, 300 leaves (see "keeps older partial tiles").
    expect((await listFiles(dir)).filter((f) => f.includes('.p/'))).toEqual(['tile/0/001.p/44', 'tile/1/000.p/1', 'tile/entries/001.p/44']);
    expect((await verifyExport({ dir, keys: KEYS })).ok).toBe(true);
  });

  it('recomputes a missing right-edge tile of level ≥ 1 from the full tiles below it', async () => {
    const dir = join(await tempDir(), 'export');
    await writeExport(dir, records, [600]);
    await rm(join(dir, 'tile/1/000.p/2'));
    const w = await ExportWriter.open({ dir, every: 1_000_000, intervalMs: 3_600_000 });
    w.addRecords(600, records.slice(600, 1000));
    offer(w, 1000);
    await w.close();
    expect(await verifyExport({ dir, keys: KEYS })).toMatchObject({ ok: true, size: 1000 });
  });

  it('refuses to continue when the partial entry bundle of the right edge is gone', async () => {
    const dir = join(await tempDir(), 'export');
    await writeExport(dir, records, [300]);
    await rm(join(dir, 'tile/entries/001.p/44'));
    const err = await ExportWriter.open({ dir, every: 10, intervalMs: 1000 }).catch((e: unknown) => e);
    expect(isAuditError(err, 'AUDIT_EXPORT_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/partial entry bundle of 44 records is missing/);
  });
});

describe('ExportWriter cadence', () => {
  it('publishes once `every` records are waiting, not before', async () => {
    const dir = join(await tempDir(), 'export');
    const w = await ExportWriter.open({ dir, every: 100, intervalMs: 3_600_000 });
    w.addRecords(0, records.slice(0, 60));
    offer(w, 60);
    await sleep(30);
    expect(w.publishedSize).toBe(0);
    expect((await listFiles(dir)).includes('checkpoint')).toBe(false);
    w.addRecords(60, records.slice(60, 120));
    offer(w, 120);
    await until(() => w.publishedSize === 120);
    await w.close();
  });

  it('publishes when the interval has passed with records waiting (own timer)', async () => {
    const dir = join(await tempDir(), 'export');
    const w = await ExportWriter.open({ dir, every: 1_000_000, intervalMs: 60 });
    const t = Date.now();
    w.addRecords(0, records.slice(0, 10));
    offer(w, 10);
    await until(() => w.publishedSize === 10);
    expect(Date.now() - t).toBeGreaterThanOrEqual(40);
    await w.close();
  });

  it('coalesces to the newest offered checkpoint while a publication is running, and counts metrics', async () => {
    const dir = join(await tempDir(), 'export');
    const registry = new Registry();
    const m = metricsFor(registry);
    const ops = withFaults(nodeFileOps, { fsyncDelayMs: 2 });
    const w = await ExportWriter.open({ dir, every: 1, intervalMs: 3_600_000, ops, metrics: { exportBatch: m.exportBatch, exportCheckpoints: m.exportCheckpoints } });
    for (let size = 25; size <= 1000; size += 25) {
      w.addRecords(size - 25, records.slice(size - 25, size));
      offer(w, size); // never blocks: each call returns at once
    }
    await w.flush();
    expect(w.publishedSize).toBe(1000);
    const published = await metricValue(registry, 'audit_export_checkpoints_total');
    expect(published).toBeGreaterThanOrEqual(2);
    expect(published).toBeLessThan(40);
    const hist = await registry.getSingleMetric('export_batch_seconds')!.get();
    expect(hist.values.find((v) => (v as { metricName?: string }).metricName === 'export_batch_seconds_count')?.value).toBe(published);
    await w.close();
    expect((await verifyExport({ dir, keys: KEYS })).ok).toBe(true);
  });

  it('setCadence() applies to the records already waiting (hot reload), and refuses a bad value', async () => {
    const dir = join(await tempDir(), 'export');
    const w = await ExportWriter.open({ dir, every: 1_000_000, intervalMs: 3_600_000 });
    w.addRecords(0, records.slice(0, 30));
    offer(w, 30);
    await sleep(30);
    expect(w.publishedSize).toBe(0);
    w.setCadence(30, 3_600_000);
    await until(() => w.publishedSize === 30);
    w.addRecords(30, records.slice(30, 40));
    offer(w, 40);
    w.setCadence(1_000_000, 50);
    await until(() => w.publishedSize === 40);
    for (const [every, intervalMs] of [[0, 100], [1, Number.NaN], [1.5, 100], [1, -1]] as const) {
      expect(() => w.setCadence(every, intervalMs)).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_ARGUMENT' }));
    }
    await w.close();
  });

  it('flush() publishes a same-size checkpoint with a new note (e.g. cross-signed), the cadence does not', async () => {
    const dir = join(await tempDir(), 'export');
    const w = await ExportWriter.open({ dir, every: 1_000_000, intervalMs: 3_600_000 });
    w.addRecords(0, records.slice(0, 50));
    offer(w, 50);
    await w.flush();
    const both = signCheckpoint(records, 50, [seed(1), seed(2)]);
    w.offerCheckpoint({ note: both, size: 50, time: T0 });
    await w.flush();
    expect(await readFile(join(dir, 'checkpoint'), 'utf8')).toBe(both);
    // A smaller checkpoint is stale: never published (a signed size never goes back).
    w.offerCheckpoint({ note: signCheckpoint(records, 40), size: 40, time: T0 });
    await w.flush();
    expect(w.publishedSize).toBe(50);
    await w.close();
  });
});

describe('ExportWriter faults', () => {
  it('on ENOSPC calls onError once, stops, and leaves the last published state intact and verifiable', async () => {
    const dir = join(await tempDir(), 'export');
    let full = false;
    const ops = withFaults(nodeFileOps, { writeError: () => (full ? 'ENOSPC' : undefined) });
    const w = await ExportWriter.open({ dir, every: 1_000_000, intervalMs: 3_600_000, ops });
    const errors: unknown[] = [];
    w.onError = (e) => errors.push(e);
    w.addRecords(0, records.slice(0, 300));
    offer(w, 300);
    await w.flush();
    const before = await readFile(join(dir, 'checkpoint'), 'utf8');
    full = true;
    w.addRecords(300, records.slice(300, 900));
    offer(w, 900);
    const err = await w.flush().catch((e: unknown) => e);
    expect(isAuditError(err, 'AUDIT_EXPORT_FAILED')).toBe(true);
    expect((err as { details: { errno?: string } }).details.errno).toBe('ENOSPC');
    expect(errors).toEqual([err]);
    expect(w.failed).toBe(err);
    // Nothing half-published is visible: the old checkpoint, its tiles, no temporary files.
    expect(await readFile(join(dir, 'checkpoint'), 'utf8')).toBe(before);
    expect((await listFiles(dir)).some((f) => f.includes('.tmp-'))).toBe(false);
    expect(await verifyExport({ dir, keys: KEYS })).toMatchObject({ ok: true, size: 300 });
    // Stopped: later records are not buffered, offers are ignored, close() does not throw again.
    full = false;
    w.addRecords(900, records.slice(900, 1000));
    w.offerCheckpoint({ note: signCheckpoint(records, 1000), size: 1000, time: T0 });
    await w.close();
    expect(errors).toHaveLength(1);
    expect(await readFile(join(dir, 'checkpoint'), 'utf8')).toBe(before);
  });

  it('fails loudly when the note does not describe the offered size', async () => {
    const dir = join(await tempDir(), 'export');
    const w = await ExportWriter.open({ dir, every: 1, intervalMs: 1000 });
    w.addRecords(0, records.slice(0, 20));
    w.offerCheckpoint({ note: signCheckpoint(records, 10), size: 20, time: T0 });
    const err = await w.flush().catch((e: unknown) => e);
    expect(isAuditError(err, 'AUDIT_EXPORT_FAILED')).toBe(true);
    await w.close();
  });

  it('cannot open an export directory it cannot create', async () => {
    const base = await tempDir();
    await writeExport(join(base, 'x'), records, [1]);
    const err = await ExportWriter.open({ dir: join(base, 'x', 'checkpoint', 'sub'), every: 1, intervalMs: 1000 }).catch((e: unknown) => e);
    expect(isAuditError(err, 'AUDIT_EXPORT_FAILED')).toBe(true);
  });
});

describe('ExportWriter wrong input', () => {
  const bad: [string, Record<string, unknown>][] = [
    ['dir empty', { dir: '', every: 1, intervalMs: 1 }],
    ['dir number', { dir: 5, every: 1, intervalMs: 1 }],
    ['every 0', { dir: '/tmp/x', every: 0, intervalMs: 1 }],
    ['every NaN', { dir: '/tmp/x', every: NaN, intervalMs: 1 }],
    ['every 1.5', { dir: '/tmp/x', every: 1.5, intervalMs: 1 }],
    ['intervalMs -1', { dir: '/tmp/x', every: 1, intervalMs: -1 }],
    ['intervalMs string', { dir: '/tmp/x', every: 1, intervalMs: '10' }],
    ['now not a function', { dir: '/tmp/x', every: 1, intervalMs: 1, now: 5 }],
  ];
  it.each(bad)('open() refuses %s', async (_name, opts) => {
    const err = await ExportWriter.open(opts as never).catch((e: unknown) => e);
    expect(isAuditError(err, 'AUDIT_INVALID_ARGUMENT')).toBe(true);
  });

  it('addRecords and offerCheckpoint refuse wrong shapes with AUDIT_INVALID_ARGUMENT', async () => {
    const w = await ExportWriter.open({ dir: join(await tempDir(), 'e'), every: 1_000_000, intervalMs: 1_000_000 });
    const cases: (() => void)[] = [
      () => w.addRecords(1, records.slice(0, 1)),
      () => w.addRecords(0, 'x' as never),
      () => w.addRecords(0, ['x'] as never),
      () => w.addRecords(0, [new Uint8Array(70_000)]),
      () => w.addRecords(Number.NaN, []),
      () => w.offerCheckpoint(null as never),
      () => w.offerCheckpoint({ note: '', size: 0, time: 0 }),
      () => w.offerCheckpoint({ note: 'x', size: -1, time: 0 }),
      () => w.offerCheckpoint({ note: 'x', size: 1.5, time: 0 }),
      () => w.offerCheckpoint({ note: 'x', size: 0, time: Number.NaN }),
      () => w.offerCheckpoint({ note: 'x', size: 5, time: 0 }), // records not handed over yet
    ];
    for (const c of cases) {
      let thrown: unknown;
      try {
        c();
      } catch (e) {
        thrown = e;
      }
      expect(isAuditError(thrown, 'AUDIT_INVALID_ARGUMENT'), String(c)).toBe(true);
    }
    expect(w.expectedSeq).toBe(0);
    await w.close();
  });

  it('holds only the right edge in memory after publishing', async () => {
    const w = await ExportWriter.open({ dir: join(await tempDir(), 'e'), every: 1_000_000, intervalMs: 1_000_000 });
    w.addRecords(0, records.slice(0, 1000));
    offer(w, 1000);
    await w.flush();
    const inner = w as unknown as { entries: unknown[]; levels: unknown[][] };
    expect(inner.entries).toHaveLength(1000 % TILE_WIDTH);
    expect(inner.levels[0]).toHaveLength(1000 % TILE_WIDTH);
    expect(inner.levels[1]).toHaveLength(3);
    await w.close();
  });
});
