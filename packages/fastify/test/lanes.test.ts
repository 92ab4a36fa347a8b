import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { app, deferred, engineOptions } from './helpers.js';

/** The plugin over an engine with worker lanes (AUDIT_WORKERS=2): nothing in the adapter changes. */
describe('with worker lanes', () => {
  it('records every request in one of the lanes, under the Audit-Id the client got; close drains them all', async () => {
    const registry = new Registry();
    const a = await app({ engine: await engineOptions({ workers: 2 }), registry, readiness: true }, (f) => {
      f.get('/orders/:id', async (req) => ({ id: (req.params as { id: string }).id }));
    });
    const engine = a.audit.engine;
    await engine.ready();
    expect(engine.lanes).toHaveLength(2);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await a.inject(`/orders/${i}`);
      expect(res.statusCode).toBe(200);
      ids.push(String(res.headers['audit-id']));
    }
    const ready = await a.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    await engine.flush();
    const recorded = (await Promise.all(engine.lanes.map((l) => l.read()))).flat().map((r) => r.record);
    expect(recorded.map((r) => r['id']).sort()).toEqual([...ids].sort());
    expect(recorded.every((r) => (r['attributes'] as Record<string, unknown>)['http.route'] === '/orders/:id')).toBe(true);
    expect(new Set(engine.lanes.map((l) => l.checkpoint()?.size ?? 0)).has(0)).toBe(false);
    await a.close();
    const appended = (await registry.getSingleMetric('audit_appended_total')!.get()).values[0]?.value;
    expect(appended).toBe(40);
  });

  it('a saturated queue still answers 503 + Retry-After before the handler runs', async () => {
    const gate = deferred();
    let ran = 0;
    const a = await app({ engine: await engineOptions({ workers: 2, queueDepth: 1, longLivedSlots: 0 }) }, (f) => {
      f.get('/slow', async () => {
        ran++;
        await gate.promise;
        return 'done';
      });
    });
    await a.audit.engine.ready();
    const first = a.inject('/slow');
    while (ran === 0) await new Promise((r) => setTimeout(r, 5));
    const second = await a.inject('/slow');
    expect(second.statusCode).toBe(503);
    expect(second.headers['retry-after']).toBe('1');
    expect(second.json()).toMatchObject({ statusCode: 503, code: 'AUDIT_SATURATED' });
    expect(ran).toBe(1);
    gate.resolve();
    expect((await first).statusCode).toBe(200);
  });
});
