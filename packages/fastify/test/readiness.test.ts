import type { AuditHealth } from '@ron-audit/core';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { audit } from '../src/index.js';
import { app, engine, engineOptions, keystore, records } from './helpers.js';

const missingKey = async () => ({ keystoreDir: await keystore(false), keyId: 'k', origin: 'test.local/fastify', env: {} });

describe('readiness', () => {
  it("joins the host's /readyz: the host answers while audit is ready, the plugin answers 503 with the reason while it is not", async () => {
    let hostRan = 0;
    const routes = (f: import('fastify').FastifyInstance) => f.get('/readyz', { config: { audit: false } }, async () => ({ host: 'ready', n: ++hostRan }));
    const ok = await app({ engine: await engineOptions() }, routes);
    const good = await ok.inject('/readyz');
    expect(good.statusCode).toBe(200);
    expect(good.json()).toEqual({ host: 'ready', n: 1 });

    const bad = await app({ engine: await missingKey() }, routes);
    const res = await bad.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ ready: false, status: 'not_ready', reasons: [{ code: 'AUDIT_KEY_UNAVAILABLE' }] });
    expect(hostRan).toBe(1);
  });

  it('joins a host /readyz registered before the plugin, too', async () => {
    const f = Fastify();
    f.get('/readyz', async () => 'host');
    await f.register(audit, { engine: await missingKey() });
    try {
      const res = await f.inject('/readyz');
      expect(res.statusCode).toBe(503);
    } finally {
      await f.close();
    }
  });

  it('readiness: true answers /readyz when the host has none, unaudited', async () => {
    const e = await engine();
    const a = await app({ audit: e, readiness: true }, (f) => f.get('/x', async () => 'ok'));
    const res = await a.inject('/readyz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ready: true, status: 'ready', reasons: [] });
    expect(res.headers['audit-id']).toBeUndefined();
    const head = await a.inject({ method: 'HEAD', url: '/readyz' });
    expect(head.statusCode).toBe(200);
    expect(await records(e)).toEqual([]);

    const down = await app({ engine: await missingKey(), readiness: '/health/ready' }, () => undefined);
    const r = await down.inject('/health/ready');
    expect(r.statusCode).toBe(503);
    expect(r.json().reasons[0].code).toBe('AUDIT_KEY_UNAVAILABLE');
  });

  it('without readiness: true there is no /readyz of its own, and readiness: false leaves the host route alone', async () => {
    const a = await app({ engine: await engineOptions() }, () => undefined);
    expect((await a.inject('/readyz')).statusCode).toBe(404);
    const b = await app({ engine: await missingKey(), readiness: false }, (f) => f.get('/readyz', { config: { audit: false } }, async () => 'host says ok'));
    const res = await b.inject('/readyz');
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('host says ok');
  });

  it('counts shutting down as not ready', async () => {
    let during: AuditHealth | undefined;
    const a = await app({ engine: await engineOptions(), readiness: true }, (f) => {
      // Host preClose hooks run after the plugin's (registration order): the server is closing from here on.
      f.addHook('preClose', (done) => {
        during = f.audit.health();
        done();
      });
    });
    expect(a.audit.health().ready).toBe(true);
    await a.close();
    expect(during).toMatchObject({ ready: false, status: 'closing', reasons: [{ code: 'AUDIT_CLOSED' }] });
    expect(a.audit.health()).toMatchObject({ ready: false, status: 'closed' });
  });
});
