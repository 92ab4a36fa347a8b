import express from 'express';
import request from 'supertest';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AuditEngine } from '@ron-audit/core';
import { audit } from './index.js';
import { cleanup, testEngine } from './test-support/fixture.js';

const engines: AuditEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(cleanup);

describe('AUDIT_ENABLED=false: the middleware does nothing per request but give req.audit', () => {
  it('no Audit-Id, nothing recorded, no listener on the response; req.audit answers and ignores what it is told; readiness still answers', async () => {
    const e = await testEngine({ enabled: false });
    engines.push(e);
    const auditor = audit({ audit: e, readiness: true });
    const app = express();
    app.use(auditor);
    const seen: unknown[] = [];
    app.post('/orders', auditor.route({ level: 'requestResponse', durable: true }), (req, res) => {
      const a = (req as unknown as { audit: import('./index.js').RequestAudit }).audit;
      a.setActor({ id: 'u1' });
      a.setTarget({ type: 'order', id: '7' });
      a.annotate('k', 'v');
      seen.push({ id: a.id, level: a.level, requestId: a.requestId, finishListeners: res.listenerCount('finish') });
      res.status(201).json({ ok: true });
    });
    app.use(auditor.errorHandler());
    // The same route in an app without the middleware, for the listeners Node and Express add themselves.
    const plain = express();
    let plainListeners = -1;
    plain.post('/orders', (_req, res) => {
      plainListeners = res.listenerCount('finish');
      res.status(201).end();
    });
    await request(plain).post('/orders').expect(201);
    const r = await request(app).post('/orders').set('X-Request-Id', 'req-42').send({ a: 1 }).expect(201);
    expect(r.headers['audit-id']).toBeUndefined();
    expect(seen).toEqual([{ id: undefined, level: 'none', requestId: 'req-42', finishListeners: plainListeners }]);
    const generated = await request(app).post('/orders').expect(201);
    expect(generated.headers['audit-id']).toBeUndefined();
    expect((seen[1] as { requestId: string }).requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.health().log.size).toBe(0);
    const ready = await request(app).get('/readyz').expect(200);
    expect(ready.body).toEqual({ status: 'ready' }); // Express's readiness body: a disabled engine is ready
  });
});
