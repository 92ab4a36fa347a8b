import { Registry } from 'prom-client';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { audit } from '../src/index.js';
import { app, engine, engineOptions, records } from './helpers.js';

describe('metrics', () => {
  it('metrics: true serves the registry at /metrics, unaudited', async () => {
    const e = await engine();
    const a = await app({ audit: e, metrics: true }, (f) => f.get('/x', async () => 'ok'));
    await a.inject('/x');
    const res = await a.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('audit_appended_total');
    expect(res.body).toContain('busy_rejections_total');
    expect(res.headers['audit-id']).toBeUndefined();
    expect((await records(e)).map((r) => r.attributes['url.path'])).toEqual(['/x']);
  });

  it("puts the metrics on the host's registry, and no route unless asked", async () => {
    const registry = new Registry();
    const a = await app({ engine: await engineOptions(), registry }, (f) => f.get('/x', async () => 'ok'));
    await a.inject('/x');
    await a.audit.flush();
    expect(await registry.metrics()).toMatch(/audit_appended_total 1/);
    expect((await a.inject('/metrics')).statusCode).toBe(404);
    const custom = await app({ engine: await engineOptions(), registry: new Registry(), metrics: '/internal/metrics' }, () => undefined);
    expect((await custom.inject('/internal/metrics')).body).toContain('audit_queue_depth');
  });

  it('two apps in one process, and one app rebuilt 10 times, on one registry: no registration errors', async () => {
    const registry = new Registry();
    const one = await app({ engine: await engineOptions(), registry, metrics: true }, (f) => f.get('/x', async () => 'ok'));
    const two = await app({ engine: await engineOptions(), registry, metrics: true }, (f) => f.get('/x', async () => 'ok'));
    expect((await one.inject('/x')).statusCode).toBe(200);
    expect((await two.inject('/x')).statusCode).toBe(200);
    for (let i = 0; i < 10; i++) {
      const f = Fastify();
      await f.register(audit, { engine: await engineOptions(), registry });
      f.get('/x', async () => 'ok');
      expect((await f.inject('/x')).statusCode).toBe(200);
      await f.close();
    }
    await one.audit.flush();
    await two.audit.flush();
    expect(await registry.metrics()).toMatch(/audit_appended_total 12/);
  });
});
