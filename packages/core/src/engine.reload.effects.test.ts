// Each reloadable key (RELOADABLE_KEYS) changes what a running engine does, observed from outside:
// checkpoints signed, the export published, admissions refused. A key that is reported changed
// but not applied (as the export cadence once was) fails here.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, keystoreWithKey, metricValue, readyAudit, sleep, tempDir } from '../test/support/engine.js';
import { RELOADABLE_KEYS } from './config.js';
import { generateKey } from './sign/keystore.js';

afterEach(cleanup);

const event = (i: number) => ({ action: 'order.create', outcome: 'success' as const, attributes: { n: i } });

/** Resolves with how long `cond` took to hold (polled), or rejects after `limitMs`. */
async function within(limitMs: number, cond: () => boolean | Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > limitMs) throw new Error(`not within ${limitMs} ms`);
    await sleep(5);
  }
  return Date.now() - t0;
}

const exportedSize = async (dir: string): Promise<number> => {
  const file = join(dir, 'checkpoint');
  if (!existsSync(file)) return 0;
  return Number((await readFile(file, 'utf8')).split('\n')[1]);
};

const covered: string[] = [];
const keyIt = (key: (typeof RELOADABLE_KEYS)[number], name: string, fn: () => Promise<void>) => {
  covered.push(key);
  it(`${key}: ${name}`, fn);
};

describe('hot reload takes effect, key by key', () => {
  keyIt('queueDepth', 'a deeper queue admits what the old depth refused', async () => {
    const engine = await readyAudit({ queueDepth: 2 });
    const slots = [engine.reserve(), engine.reserve()];
    expect(() => engine.reserve()).toThrow(expect.objectContaining({ code: 'AUDIT_QUEUE_FULL' }));
    await engine.reload({ queueDepth: 3 });
    slots.push(engine.reserve());
    expect(() => engine.reserve()).toThrow(expect.objectContaining({ code: 'AUDIT_QUEUE_FULL' }));
    slots.forEach((s) => s.release());
  });

  keyIt('retryAfterSeconds', 'the refusal carries the new Retry-After', async () => {
    const engine = await readyAudit({ queueDepth: 1, retryAfterSeconds: 1 });
    const slot = engine.reserve();
    await engine.reload({ retryAfterSeconds: 7 });
    expect(() => engine.reserve()).toThrow(expect.objectContaining({ code: 'AUDIT_QUEUE_FULL', details: { retryAfterSeconds: 7 } }));
    slot.release();
  });

  keyIt('longLivedSlots', 'long-lived requests stop counting against the main queue once the pool exists', async () => {
    const engine = await readyAudit({ queueDepth: 2, longLivedSlots: 0 });
    const long = [engine.reserve({ longLived: true }), engine.reserve({ longLived: true })];
    expect(engine.isSaturated()).toBe(true);
    long.forEach((s) => s.release());
    await engine.reload({ longLivedSlots: 2 });
    const again = [engine.reserve({ longLived: true }), engine.reserve({ longLived: true })];
    expect(engine.isSaturated()).toBe(false);
    again.forEach((s) => s.release());
  });

  keyIt('longLivedAfterMs', 'a reservation older than the new threshold moves to the long-lived pool', async () => {
    const engine = await readyAudit({ queueDepth: 1, longLivedSlots: 1, longLivedAfterMs: 3_600_000 });
    const slot = engine.reserve();
    await sleep(300);
    expect(engine.isSaturated()).toBe(true);
    await engine.reload({ longLivedAfterMs: 10 });
    // The sweep runs at least every 250 ms.
    await within(2_000, () => !engine.isSaturated());
    slot.release();
  });

  keyIt('batchMax', 'records per signed checkpoint follow the new maximum (Micronode)', async () => {
    const engine = await readyAudit({ queueDepth: 1000, batchMax: 100 });
    const reg = engine.metrics.registry;
    await engine.reload({ batchMax: 10 });
    const before = await metricValue(reg, 'audit_checkpoints_total');
    for (let i = 0; i < 100; i++) engine.emit(event(i));
    await engine.flush();
    // 100 records in one tick: 10 batches of 10 now, where batchMax 100 signed 1.
    expect((await metricValue(reg, 'audit_checkpoints_total')) - before).toBe(10);
  });

  keyIt('batchWindowMs', 'a lone record waits for the new window before it is signed (Micronode)', async () => {
    const engine = await readyAudit({ batchWindowMs: 0 });
    engine.emit(event(0));
    expect(await within(1_000, () => engine.checkpoint()?.size === 1)).toBeLessThan(200);
    await engine.reload({ batchWindowMs: 600 });
    engine.emit(event(1));
    const waited = await within(5_000, () => engine.checkpoint()?.size === 2);
    expect(waited).toBeGreaterThanOrEqual(400);
  });

  keyIt('walBatch', 'records per group commit and checkpoint follow the new batch (Macronode)', async () => {
    const root = await tempDir();
    const engine = await readyAudit({ queueDepth: 1000, walEnabled: true, walDir: join(root, 'wal'), walBatch: 64 });
    const reg = engine.metrics.registry;
    await engine.reload({ walBatch: 8 });
    const before = await metricValue(reg, 'audit_checkpoints_total');
    for (let i = 0; i < 64; i++) engine.emit(event(i));
    await engine.flush();
    expect((await metricValue(reg, 'audit_checkpoints_total')) - before).toBe(8);
  });

  keyIt('walWindowMs', 'a lone record waits for the new group-commit window (Macronode)', async () => {
    const root = await tempDir();
    const engine = await readyAudit({ walEnabled: true, walDir: join(root, 'wal'), walWindowMs: 0 });
    engine.emit(event(0));
    expect(await within(1_000, () => engine.checkpoint()?.size === 1)).toBeLessThan(200);
    await engine.reload({ walWindowMs: 600 });
    engine.emit(event(1));
    expect(await within(5_000, () => engine.checkpoint()?.size === 2)).toBeGreaterThanOrEqual(400);
  });

  keyIt('checkpointEvery', 'the export publishes the waiting records as soon as they reach the new count', async () => {
    const root = await tempDir();
    const exportDir = join(root, 'export');
    const engine = await readyAudit({ walEnabled: true, walDir: join(root, 'wal'), exportEnabled: true, exportDir, checkpointEvery: 1_000_000, checkpointIntervalMs: 86_400_000 });
    for (let i = 0; i < 5; i++) engine.emit(event(i));
    await within(2_000, () => engine.checkpoint()?.size === 5);
    await sleep(200);
    expect(await exportedSize(exportDir)).toBe(0);
    await engine.reload({ checkpointEvery: 5 });
    await within(2_000, async () => (await exportedSize(exportDir)) === 5);
    // And it stays the cadence: 5 more records, published without a flush.
    for (let i = 5; i < 10; i++) engine.emit(event(i));
    await within(2_000, async () => (await exportedSize(exportDir)) === 10);
  });

  keyIt('checkpointIntervalMs', 'the export publishes waiting records once the new interval has passed', async () => {
    const root = await tempDir();
    const exportDir = join(root, 'export');
    const engine = await readyAudit({ walEnabled: true, walDir: join(root, 'wal'), exportEnabled: true, exportDir, checkpointEvery: 1_000_000, checkpointIntervalMs: 86_400_000 });
    engine.emit(event(0));
    await within(2_000, () => engine.checkpoint()?.size === 1);
    await sleep(200);
    expect(await exportedSize(exportDir)).toBe(0);
    await engine.reload({ checkpointIntervalMs: 100 });
    await within(2_000, async () => (await exportedSize(exportDir)) === 1);
    engine.emit(event(1));
    await within(2_000, async () => (await exportedSize(exportDir)) === 2);
  });

  keyIt('keyId', 'checkpoints after the reload carry the new key\'s signature', async () => {
    const keystoreDir = await keystoreWithKey('old');
    await generateKey(keystoreDir, 'new');
    const engine = await readyAudit({ keystoreDir, keyId: 'old' });
    engine.emit(event(0));
    await engine.flush();
    const oldKey = engine.verifierKey();
    await engine.reload({ keyId: 'new' });
    expect(engine.verifierKey()).not.toBe(oldKey);
    engine.emit(event(1));
    await engine.flush();
    const newKeyName = engine.verifierKey().split('+')[1]!;
    const sigLines = engine.checkpoint()!.note.split('\n').filter((l) => l.startsWith('\u2014 '));
    expect(sigLines.some((l) => Buffer.from(l.split(' ')[2]!, 'base64').subarray(0, 4).toString('hex') === newKeyName)).toBe(true);
  });

  it('covers every reloadable key', () => {
    expect([...covered].sort()).toEqual([...RELOADABLE_KEYS].sort());
  });
});
