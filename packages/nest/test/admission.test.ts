import type { AuditEngine, AuditSlot } from '@ron-audit/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { calls, metricValue, newEngine, PLATFORMS, records, releaseSlowRequests, resetCalls, start, until, type Running } from './harness.js';

/** Fill the engine's queue by reserving every slot directly. */
function saturate(engine: AuditEngine): AuditSlot[] {
  const slots: AuditSlot[] = [];
  while (!engine.isSaturated()) slots.push(engine.reserve());
  return slots;
}

describe.each(PLATFORMS)('admission on platform-%s', (platform) => {
  let engine: AuditEngine;
  let run: Running;
  let held: AuditSlot[] = [];

  beforeEach(async () => {
    resetCalls();
    engine = await newEngine({ queueDepth: 4 });
  });
  afterEach(async () => {
    for (const s of held.splice(0)) s.release();
    await run.app.close();
    await engine.close();
  });

  it('answers 503 with Retry-After and the JSON body when saturated, counts it by route, and runs no handler', async () => {
    run = await start(platform, { audit: engine, retryAfter: 7 });
    held = saturate(engine);
    const res = await fetch(`${run.url}/things/1`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('audit-id')).toBeNull();
    expect(await res.json()).toEqual({
      statusCode: 503,
      code: 'AUDIT_SATURATED',
      error: 'Service Unavailable',
      message: expect.any(String) as unknown as string,
    });
    expect(calls.things).toBe(0);
    expect(await metricValue(engine, 'busy_rejections_total', { endpoint: '/things/:id' })).toBe(1);
    for (const s of held.splice(0)) s.release();
    const ok = await fetch(`${run.url}/things/1`);
    expect(ok.status).toBe(200);
    expect(calls.things).toBe(1);
    expect(await records(engine)).toHaveLength(1);
  });

  it('refuses before guards run: an unauthenticated POST gets 503, not 401', async () => {
    run = await start(platform, { audit: engine });
    held = saturate(engine);
    const res = await fetch(`${run.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe(String(engine.config.retryAfterSeconds));
    expect(calls.orders).toBe(0);
  });

  it('fails closed for every method by default, reads included', async () => {
    run = await start(platform, { audit: engine });
    held = saturate(engine);
    expect((await fetch(`${run.url}/things/2`)).status).toBe(503);
    expect((await fetch(`${run.url}/things/2`, { method: 'HEAD' })).status).toBe(503);
    expect(calls.things).toBe(0);
  });

  it('with skipOnError lets reads run unaudited (counted as shed) and still refuses writes', async () => {
    run = await start(platform, { audit: engine, skipOnError: true });
    held = saturate(engine);
    const read = await fetch(`${run.url}/things/3`);
    expect(read.status).toBe(200);
    expect(read.headers.get('audit-id')).toBeNull();
    expect(calls.things).toBe(1);
    expect(await metricValue(engine, 'audit_drop_total', { reason: 'unaudited_pass' })).toBe(1);
    const write = await fetch(`${run.url}/orders`, { method: 'POST', headers: { authorization: 'Bearer u-1', 'content-type': 'application/json' }, body: '{}' });
    expect(write.status).toBe(503);
    expect(calls.orders).toBe(0);
    for (const s of held.splice(0)) s.release();
    expect(await records(engine)).toHaveLength(0);
  });

  it('serves opted-out routes, readiness and metrics while saturated', async () => {
    run = await start(platform, { audit: engine, readiness: true, metrics: true });
    held = saturate(engine);
    expect((await fetch(`${run.url}/skip`)).status).toBe(200);
    const ready = await fetch(`${run.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('audit-id')).toBeNull();
    const metrics = await fetch(`${run.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('audit_queue_depth 4');
  });

  it('answers an unmatched request 404 while saturated, counted as (unmatched) and not recorded', async () => {
    run = await start(platform, { audit: engine });
    held = saturate(engine);
    const res = await fetch(`${run.url}/nowhere`);
    expect(res.status).toBe(404);
    expect(await metricValue(engine, 'busy_rejections_total', { endpoint: '(unmatched)' })).toBe(1);
    for (const s of held.splice(0)) s.release();
    expect(await records(engine)).toHaveLength(0);
  });

  it('records a request admitted before saturation even though the queue filled while it ran', async () => {
    run = await start(platform, { audit: engine });
    const pending = fetch(`${run.url}/slow`);
    await until(() => calls.slow === 1);
    held = saturate(engine);
    releaseSlowRequests();
    const res = await pending;
    expect(res.status).toBe(200);
    const id = res.headers.get('audit-id');
    for (const s of held.splice(0)) s.release();
    expect((await records(engine)).map((r) => r.id)).toEqual([id]);
  });

  it('moves a longLived route to the long-lived pool, so that it does not hold short capacity', async () => {
    await engine.close();
    engine = await newEngine({ queueDepth: 1 });
    run = await start(platform, { audit: engine });
    const stream = fetch(`${run.url}/stream`);
    await until(() => calls.slow === 1);
    const short = await fetch(`${run.url}/things/5`);
    expect(short.status).toBe(200);
    releaseSlowRequests();
    const streamed = await stream;
    expect(streamed.status).toBe(200);
    expect((await records(engine)).map((r) => r.id).sort()).toEqual([short.headers.get('audit-id'), streamed.headers.get('audit-id')].sort());
  });
});
