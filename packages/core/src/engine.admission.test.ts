import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, decode, internals, metricValue, readyAudit, sleep, thrown } from '../test/support/engine.js';
import { AuditError } from './errors.js';
import { nextLink as recordHash } from './log/chain.js';
import { toHex } from './prim/hex.js';
import { MAX_RECORD_BYTES, prepareEvent, recordBytes } from './record/record.js';
import { createRedactor } from './record/redact.js';

afterEach(cleanup);

const ev = (i = 0) => ({ action: 'item.update', outcome: 'success' as const, attributes: { i } });

describe('emit when the queue is full', () => {
  it('sheds synchronously with AUDIT_QUEUE_FULL and counts every shed record exactly once (10,000 in one tick, depth 64)', async () => {
    const engine = await readyAudit({ queueDepth: 64, retryAfterSeconds: 3 });
    const reg = engine.metrics.registry;
    let appended = 0;
    let shed = 0;
    for (let i = 0; i < 10_000; i++) {
      try {
        engine.emit(ev(i));
        appended++;
      } catch (err) {
        expect(err).toBeInstanceOf(AuditError);
        expect((err as AuditError).code).toBe('AUDIT_QUEUE_FULL');
        expect((err as AuditError).details['retryAfterSeconds']).toBe(3);
        shed++;
      }
    }
    expect(appended).toBe(64);
    expect(appended + shed).toBe(10_000);
    expect(await metricValue(reg, 'audit_drop_total', { reason: 'audit_backpressure' })).toBe(shed);
    expect(await metricValue(reg, 'busy_rejections_total', { endpoint: 'emit' })).toBe(shed);
    expect(await metricValue(reg, 'audit_drop_total')).toBe(shed);
    await engine.flush();
    expect(await metricValue(reg, 'audit_appended_total')).toBe(appended);
    expect(engine.checkpoint()?.size).toBe(appended);
  });

  it('admits again once the appender has drained the queue', async () => {
    const engine = await readyAudit({ queueDepth: 2 });
    engine.emit(ev());
    engine.emit(ev());
    expect(engine.isSaturated()).toBe(true);
    expect((thrown(() => engine.emit(ev())) as AuditError).code).toBe('AUDIT_QUEUE_FULL');
    await engine.flush();
    expect(engine.isSaturated()).toBe(false);
    expect(() => engine.emit(ev())).not.toThrow();
  });
});

describe('reserve → commit admission', () => {
  it('a slot reserved at request start is recorded at commit even though the queue filled meanwhile', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    const slot = engine.reserve({ endpoint: '/orders' });
    let emitted = 0;
    while (!engine.isSaturated()) {
      engine.emit(ev());
      emitted++;
    }
    expect(emitted).toBe(3);
    expect((thrown(() => engine.emit(ev())) as AuditError).code).toBe('AUDIT_QUEUE_FULL');
    expect(() => slot.commit({ action: 'POST /orders', outcome: 'success' })).not.toThrow();
    await engine.flush();
    const records = await engine.read();
    expect(records).toHaveLength(4);
    // The slot id is the record id: adapters return it as Audit-Id before the record exists.
    expect(records.filter((r) => r.record['id'] === slot.id)).toHaveLength(1);
  });

  it('refuses reserve() with AUDIT_QUEUE_FULL when reserved + pending = depth, counted under the given endpoint', async () => {
    const engine = await readyAudit({ queueDepth: 3 });
    const reg = engine.metrics.registry;
    engine.reserve();
    engine.reserve();
    engine.emit(ev());
    const err = thrown(() => engine.reserve({ endpoint: '/orders/:id' })) as AuditError;
    expect(err).toBeInstanceOf(AuditError);
    expect(err.code).toBe('AUDIT_QUEUE_FULL');
    expect(await metricValue(reg, 'busy_rejections_total', { endpoint: '/orders/:id' })).toBe(1);
    expect((thrown(() => engine.reserve()) as AuditError).code).toBe('AUDIT_QUEUE_FULL');
    expect(await metricValue(reg, 'busy_rejections_total', { endpoint: '/orders/:id' })).toBe(1);
    expect(await metricValue(reg, 'busy_rejections_total', { endpoint: 'reserve' })).toBe(1);
    // A refused reservation is not a lost record: the request is turned away before it runs.
    expect(await metricValue(reg, 'audit_drop_total')).toBe(0);
  });

  it('release() frees the slot without a record, and a second release frees nothing more', async () => {
    const engine = await readyAudit({ queueDepth: 2 });
    const a = engine.reserve();
    const b = engine.reserve();
    expect(engine.isSaturated()).toBe(true);
    a.release();
    a.release();
    a.commit(ev()); // after release: ignored
    expect(engine.health().queue.occupancy).toBe(1);
    const c = engine.reserve();
    expect((thrown(() => engine.reserve()) as AuditError).code).toBe('AUDIT_QUEUE_FULL');
    b.commit(ev(2));
    c.commit(ev(3));
    await engine.flush();
    const ids = (await engine.read()).map((r) => r.record['id']);
    expect(ids).toEqual([b.id, c.id]);
    expect(engine.health().queue.occupancy).toBe(0);
  });

  it('commit() twice records once', async () => {
    const engine = await readyAudit({ queueDepth: 2 });
    const slot = engine.reserve();
    slot.commit(ev(1));
    slot.commit(ev(2));
    await engine.flush();
    const records = await engine.read();
    expect(records).toHaveLength(1);
    expect(records[0]?.record['attributes']).toEqual({ i: 1 });
  });

  it('moves a reservation older than longLivedAfterMs to the long-lived pool so short requests are admitted again', async () => {
    const engine = await readyAudit({ queueDepth: 2, longLivedSlots: 1, longLivedAfterMs: 50 });
    const streamA = engine.reserve();
    const streamB = engine.reserve();
    expect((thrown(() => engine.reserve()) as AuditError).code).toBe('AUDIT_QUEUE_FULL');
    await sleep(200);
    // One of the two old reservations moved to the pool of 1; the other still holds its short slot.
    const short = engine.reserve();
    expect((thrown(() => engine.reserve()) as AuditError).code).toBe('AUDIT_QUEUE_FULL');
    short.commit(ev(1));
    streamA.commit(ev(2));
    streamB.commit(ev(3));
    await engine.flush();
    expect((await engine.read()).map((r) => r.record['id']).sort()).toEqual([short.id, streamA.id, streamB.id].sort());
  });

  it('a reservation marked long-lived (or reserved long-lived) does not use the short budget', async () => {
    const engine = await readyAudit({ queueDepth: 2, longLivedSlots: 2 });
    const sse = engine.reserve({ longLived: true });
    const upload = engine.reserve();
    upload.markLongLived();
    engine.reserve();
    engine.reserve();
    expect((thrown(() => engine.reserve()) as AuditError).code).toBe('AUDIT_QUEUE_FULL');
    sse.commit(ev(1));
    upload.commit(ev(2));
    await engine.flush();
    expect(await engine.read()).toHaveLength(2);
  });

  it('bounds the long-lived pool by longLivedSlots: the next long-lived request takes a short slot', async () => {
    const engine = await readyAudit({ queueDepth: 1, longLivedSlots: 2 });
    engine.reserve({ longLived: true });
    engine.reserve({ longLived: true });
    engine.reserve({ longLived: true }); // pool full: falls back to the one short slot
    expect((thrown(() => engine.reserve({ longLived: true })) as AuditError).code).toBe('AUDIT_QUEUE_FULL');
    expect((thrown(() => engine.reserve()) as AuditError).code).toBe('AUDIT_QUEUE_FULL');
    expect(engine.health().queue.occupancy).toBe(3);
  });

  it('never holds more than depth + longLivedSlots records, however long-lived requests come and go within one tick', async () => {
    const depth = 4;
    const longLivedSlots = 2;
    const engine = await readyAudit({ queueDepth: depth, longLivedSlots });
    for (let i = 0; i < depth; i++) engine.reserve();
    let admitted = 0;
    let refused = 0;
    let maxOccupancy = 0;
    for (let i = 0; i < 1000; i++) {
      try {
        const slot = engine.reserve({ longLived: true });
        admitted++;
        maxOccupancy = Math.max(maxOccupancy, engine.health().queue.occupancy);
        slot.commit(ev(i));
      } catch (err) {
        expect((err as AuditError).code).toBe('AUDIT_QUEUE_FULL');
        refused++;
      }
      maxOccupancy = Math.max(maxOccupancy, engine.health().queue.occupancy);
    }
    expect(maxOccupancy).toBeLessThanOrEqual(depth + longLivedSlots);
    expect(admitted).toBe(longLivedSlots);
    expect(refused).toBe(1000 - longLivedSlots);
    await engine.flush();
    expect(engine.health().queue.occupancy).toBe(depth);
  });
});

describe('commit() of an event that cannot be recorded as given', () => {
  const huge = 'x'.repeat(100 * 1024);

  it('records an oversized event as the reduced record of format §2.1, naming the full size and record hash', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    const reg = engine.metrics.registry;
    const slot = engine.reserve();
    const event = {
      action: 'POST /upload',
      outcome: 'success' as const,
      actor: { id: 'u-7', type: 'user' },
      target: { type: 'file', id: 'f-1' },
      request_id: 'req-1',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      time: '2026-01-02T03:04:05.678Z',
      annotations: { note: 'kept?' },
      attributes: { 'http.request.header.x-big': [huge] },
    };
    expect(() => slot.commit(event)).not.toThrow();
    await engine.flush();
    const [r] = await engine.read();
    expect(r).toBeDefined();
    const rec = r!.record;
    expect(rec['id']).toBe(slot.id);
    expect(rec['attributes']).toEqual({});
    expect(rec['body']).toBeUndefined();
    // Every field except attributes, body and annotations is kept.
    expect(rec).toMatchObject({ action: 'POST /upload', outcome: 'success', actor: { id: 'u-7', type: 'user' }, target: { type: 'file', id: 'f-1' } });
    expect(rec).toMatchObject({ request_id: 'req-1', trace_id: event.trace_id, span_id: event.span_id, time: event.time });
    const annotations = rec['annotations'] as Record<string, string>;
    expect(Object.keys(annotations)).toEqual(['ron-audit.oversize']);
    const m = /^(\d+):([0-9a-f]{64})$/.exec(annotations['ron-audit.oversize']!);
    expect(m).not.toBeNull();
    // Recompute the full record this one stands for, at the same seq and prev.
    const full = recordBytes(prepareEvent({ ...event, id: slot.id }, createRedactor(undefined), () => 'unused', Date.now(), Infinity), r!.seq, rec['prev'] as string);
    expect(full.length).toBeGreaterThan(MAX_RECORD_BYTES);
    expect(Number(m![1])).toBe(full.length);
    expect(m![2]).toBe(toHex(recordHash(full)));
    expect(await metricValue(reg, 'audit_drop_total', { reason: 'oversize_reduced' })).toBe(1);
    expect(await metricValue(reg, 'audit_appended_total')).toBe(1);
  });

  it('records an invalid event reduced with "ron-audit.invalid" naming the problem, and counts it invalid', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    const slot = engine.reserve();
    slot.commit({ action: 'GET /x', outcome: 'success', request_id: 'req-9', time: '2026-01-02T03:04:05.000Z', attributes: { n: Number.NaN } });
    await engine.flush();
    const [r] = await engine.read();
    expect(r?.record['id']).toBe(slot.id);
    expect(r?.record).toMatchObject({ action: 'GET /x', outcome: 'success', request_id: 'req-9', time: '2026-01-02T03:04:05.000Z', attributes: {} });
    expect((r?.record['annotations'] as Record<string, string>)['ron-audit.invalid']).toMatch(/attributes\["n"\]/);
    expect(await metricValue(engine.metrics.registry, 'audit_drop_total', { reason: 'invalid' })).toBe(1);
  });

  it('records even when the fields a reduced record keeps are themselves unrecordable (lone surrogates, wrong types)', async () => {
    const engine = await readyAudit({ queueDepth: 8 });
    const slots = [engine.reserve(), engine.reserve(), engine.reserve(), engine.reserve()];
    const bad: unknown[] = [
      { action: 'ok', outcome: 'success', actor: { id: '\ud800' } },
      { action: 'bad \udc00 action', outcome: 'success' },
      null,
      { action: 42, outcome: 'maybe', actor: 'root', target: 7, time: 'yesterday' },
    ];
    slots.forEach((s, i) => expect(() => s.commit(bad[i] as never)).not.toThrow());
    await engine.flush();
    const records = await engine.read();
    expect(records.map((r) => r.record['id'])).toEqual(slots.map((s) => s.id));
    for (const r of records) expect(Object.keys(r.record['annotations'] as object)).toEqual(['ron-audit.invalid']);
    expect(records[2]?.record).toMatchObject({ action: 'ron-audit.unrecordable', outcome: 'failure' });
    expect(engine.health().queue.occupancy).toBe(0);
  });

  it('emit() of a too-large event is refused and counted too_large; nothing is appended', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    const err = thrown(() => engine.emit({ action: 'x', outcome: 'success', attributes: { big: huge } })) as AuditError;
    expect(err.code).toBe('AUDIT_RECORD_TOO_LARGE');
    expect(await metricValue(engine.metrics.registry, 'audit_drop_total', { reason: 'too_large' })).toBe(1);
    await engine.flush();
    expect(internals(engine).log.size).toBe(0);
    expect(engine.health().queue.occupancy).toBe(0);
  });

  it('the reduced record never contains the dropped detail', async () => {
    const engine = await readyAudit({ queueDepth: 2 });
    const slot = engine.reserve();
    slot.commit({ action: 'x', outcome: 'success', attributes: { detail: `SECRET-DETAIL-${huge}` } });
    await engine.flush();
    const [r] = await engine.read();
    expect(decode(r!.bytes)).not.toContain('SECRET-DETAIL');
  });
});
