import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, metricValue, readyAudit, tempDir } from '../test/support/engine.js';

afterEach(cleanup);

const event = (i: number) => ({ action: 'order.create', outcome: 'success' as const, actor: { id: `u-${i % 50}` }, attributes: { n: i } });
/** emit, counting a refusal (AUDIT_SATURATED: the queue is full) instead of throwing it. */
function offer(engine: { emit(e: object): unknown }, i: number): boolean {
  try {
    engine.emit(event(i));
    return true;
  } catch (err) {
    if ((err as { code?: string }).code !== 'AUDIT_SATURATED') throw err;
    return false;
  }
}
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A closed loop admits about one record per connection per event-loop turn. The appender must
 * keep up with that whatever the batch size: the batch bounds a checkpoint, never the drain rate
 * (docs/format.md §7). Before, it built one batch of AUDIT_WAL_BATCH records per turn, so 50 per
 * turn against a batch of 32 filled any queue and then shed every new record.
 */
describe('the appender drains what admission takes in, whatever the batch size', () => {
  it('WAL profile: 50 records per turn against AUDIT_WAL_BATCH=32 for 400 turns never sheds and the queue stays within a few turns of records', async () => {
    const dir = await tempDir();
    const engine = await readyAudit({ walEnabled: true, walDir: `${dir}/wal`, walBatch: 32, queueDepth: 1024 });
    let maxOccupancy = 0;
    let shed = 0;
    for (let t = 0; t < 400; t++) {
      for (let i = 0; i < 50; i++) if (!offer(engine, t * 50 + i)) shed++;
      maxOccupancy = Math.max(maxOccupancy, engine.health().queue.occupancy);
      await turn();
    }
    await engine.flush();
    expect(shed).toBe(0);
    expect(await metricValue(engine.metrics.registry, 'audit_drop_total')).toBe(0);
    expect(await metricValue(engine.metrics.registry, 'audit_appended_total')).toBe(20_000);
    // What waits is the current turn's records, a partial batch, and at worst what one run's 4 ms
    // slice did not reach on a loaded machine — a few turns' worth, far from the depth (the old
    // appender reached the depth, 1024, after ~57 turns, and shed from then on).
    expect(maxOccupancy).toBeLessThan(256);
    expect(engine.checkpoint()?.size).toBe(20_000);
  });

  it('in-memory profile: a batch of 8 against 50 records per turn keeps up too, and a checkpoint still covers at most 8 records', async () => {
    const engine = await readyAudit({ batchMax: 8, batchWindowMs: 0, queueDepth: 256 });
    const before = await metricValue(engine.metrics.registry, 'audit_checkpoints_total');
    let shed = 0;
    for (let t = 0; t < 200; t++) {
      for (let i = 0; i < 50; i++) if (!offer(engine, t * 50 + i)) shed++;
      await turn();
    }
    await engine.flush();
    expect(shed).toBe(0);
    expect(engine.checkpoint()?.size).toBe(10_000);
    expect((await metricValue(engine.metrics.registry, 'audit_checkpoints_total')) - before).toBeGreaterThanOrEqual(10_000 / 8);
  });
});

/** How many fdatasyncs the WAL did (the `wal_fsync_seconds` histogram's count). */
async function fsyncs(engine: { metrics: { registry: import('prom-client').Registry } }): Promise<number> {
  const { values } = await engine.metrics.registry.getSingleMetric('wal_fsync_seconds')!.get();
  return values.find((v) => (v as { metricName?: string }).metricName === 'wal_fsync_seconds_count')?.value ?? 0;
}

describe('WAL group commits are paced by AUDIT_WAL_WINDOW_MS', () => {
  const trickle = async (engine: Awaited<ReturnType<typeof readyAudit>>) => {
    const acks: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      acks.push(engine.emitDurable(event(i)));
      await new Promise((r) => setTimeout(r, 2));
    }
    return Promise.all(acks);
  };

  it('records that trickle in within one window share one fsync, and every durable ack still arrives', async () => {
    const dir = await tempDir();
    // walBatch 1: every record is a batch of its own at once, so only the WAL's pacing groups them.
    const engine = await readyAudit({ walEnabled: true, walDir: `${dir}/wal`, walBatch: 1, walWindowMs: 200 });
    const before = await fsyncs(engine);
    const receipts = await trickle(engine);
    expect(receipts).toHaveLength(10);
    expect(receipts.every((r) => (r as { durable: boolean }).durable)).toBe(true);
    // The first record goes out at once; the other nine arrive within the next 200 ms and share the next write.
    expect((await fsyncs(engine)) - before).toBeLessThanOrEqual(2);
    expect(engine.checkpoint()?.size).toBe(10);
  });

  it('with AUDIT_WAL_WINDOW_MS=0 each write starts as soon as the previous fsync returned', async () => {
    const dir = await tempDir();
    const engine = await readyAudit({ walEnabled: true, walDir: `${dir}/wal`, walBatch: 1, walWindowMs: 0 });
    const before = await fsyncs(engine);
    await trickle(engine);
    expect((await fsyncs(engine)) - before).toBeGreaterThan(2);
  });

  it('flush() and close() do not wait for the pace: a pending group commit is written at once', async () => {
    const dir = await tempDir();
    const engine = await readyAudit({ walEnabled: true, walDir: `${dir}/wal`, walBatch: 1, walWindowMs: 1000 });
    await engine.emitDurable(event(0)); // the first write of the window
    const second = engine.emitDurable(event(1)); // paced: would wait ~1 s
    const flushed = await Promise.race([engine.flush().then(() => 'flushed'), new Promise((r) => setTimeout(() => r('waited for the pace'), 900))]);
    expect(flushed).toBe('flushed');
    await expect(second).resolves.toMatchObject({ durable: true });
  });
});
