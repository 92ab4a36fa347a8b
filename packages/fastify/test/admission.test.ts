import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { AuditRefusedError } from '../src/index.js';
import { app, deferred, engine, engineOptions, keystore, records } from './helpers.js';

async function busyRejections(registry: Registry, endpoint: string): Promise<number> {
  const m = await registry.getSingleMetric('busy_rejections_total')!.get();
  return m.values.find((v) => v.labels['endpoint'] === endpoint)?.value ?? 0;
}

async function drops(registry: Registry, reason: string): Promise<number> {
  const m = await registry.getSingleMetric('audit_drop_total')!.get();
  return m.values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

describe('admission before the handler', () => {
  it('answers 503 + Retry-After + AUDIT_SATURATED when the queue is full, counts the route template, and never runs the handler', async () => {
    const registry = new Registry();
    const e = await engine({ queueDepth: 1, registry });
    let ran = 0;
    const a = await app({ audit: e, retryAfter: 7 }, (f) => f.post('/orders/:id', async () => ++ran));
    const held = e.reserve();
    const res = await a.inject({ method: 'POST', url: '/orders/9', payload: { a: 1 } });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.headers['audit-id']).toBeUndefined();
    expect(res.json()).toEqual({ statusCode: 503, code: 'AUDIT_SATURATED', error: 'Service Unavailable', message: 'The audit trail is saturated; the request was not processed. Retry later.' });
    expect(ran).toBe(0);
    expect(await busyRejections(registry, '/orders/:id')).toBe(1);
    expect(a.audit.isSaturated()).toBe(true);
    held.release();
    const ok = await a.inject({ method: 'POST', url: '/orders/9', payload: { a: 1 } });
    expect(ok.statusCode).toBe(200);
    expect(ran).toBe(1);
  });

  it('saturates with one request held open (queueDepth 1): the second is refused, the first is recorded', async () => {
    const gate = deferred();
    const entered = deferred();
    let ran = 0;
    const a = await app({ engine: await engineOptions({ queueDepth: 1 }) }, (f) =>
      f.get('/slow', async () => {
        ran++;
        entered.resolve();
        await gate.promise;
        return 'done';
      }),
    );
    const first = a.inject('/slow');
    await entered.promise;
    const second = await a.inject('/slow');
    expect(second.statusCode).toBe(503);
    expect(second.headers['retry-after']).toBe('1');
    expect(ran).toBe(1);
    gate.resolve();
    const res = await first;
    expect(res.statusCode).toBe(200);
    const rs = await records(a.audit.engine);
    expect(rs.map((r) => r['id'])).toEqual([res.headers['audit-id']]);
  });

  it("goes through the host's setErrorHandler with the Retry-After header kept", async () => {
    const e = await engine({ queueDepth: 1 });
    const seen: unknown[] = [];
    const a = await app({ audit: e }, (f) => {
      f.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
        seen.push(err);
        return reply.code(err.statusCode ?? 500).send({ oops: err.code });
      });
      f.get('/x', async () => 'ok');
    });
    e.reserve();
    const res = await a.inject('/x');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ oops: 'AUDIT_SATURATED' });
    expect(res.headers['retry-after']).toBe('1');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(AuditRefusedError);
    expect(seen[0]).toMatchObject({ statusCode: 503, code: 'AUDIT_SATURATED', retryAfterSeconds: 1, cause: { code: 'AUDIT_QUEUE_FULL' } });
  });

  it('skipOnError lets safe methods run unaudited (counted as shed) and still refuses writes', async () => {
    const registry = new Registry();
    const e = await engine({ queueDepth: 1, registry });
    let ran = 0;
    const a = await app({ audit: e, skipOnError: true }, (f) => {
      f.get('/r', async () => ++ran);
      f.post('/w', async () => ++ran);
    });
    e.reserve();
    const read = await a.inject('/r');
    const write = await a.inject({ method: 'POST', url: '/w', payload: {} });
    expect(read.statusCode).toBe(200);
    expect(read.headers['audit-id']).toBeUndefined();
    expect(write.statusCode).toBe(503);
    expect(ran).toBe(1);
    expect(await drops(registry, 'unaudited_pass')).toBe(1);
    expect(await busyRejections(registry, '/w')).toBe(1);
  });

  it('fails closed while the engine is not ready (key missing): 503 with the engine code', async () => {
    let ran = 0;
    const a = await app({ engine: { keystoreDir: await keystore(false), keyId: 'k', origin: 'test.local/fastify', env: {} } }, (f) => f.get('/x', async () => ++ran));
    const res = await a.inject('/x');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ statusCode: 503, code: 'AUDIT_NOT_READY', error: 'Service Unavailable' });
    expect(res.headers['retry-after']).toBe('1');
    expect(ran).toBe(0);
  });
});
