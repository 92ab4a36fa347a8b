import express from 'express';
import request from 'supertest';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createAudit, type AuditEngine, type AuditSlot } from '@ron-audit/core';
import { audit } from './index.js';
import { cleanup, engineOptions, records, testEngine, waitForRecords } from './test-support/fixture.js';

const engines: AuditEngine[] = [];
const held: AuditSlot[] = [];
async function engine(queueDepth: number): Promise<AuditEngine> {
  const e = await testEngine({ queueDepth });
  engines.push(e);
  return e;
}
/** Fill the queue by reserving every slot directly on the engine. */
function saturate(e: AuditEngine): void {
  while (!e.isSaturated()) held.push(e.reserve());
}
afterEach(async () => {
  for (const s of held.splice(0)) s.release();
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(cleanup);

async function busyRejections(e: AuditEngine, endpoint: string): Promise<number> {
  const m = await e.metrics.busyRejections.get();
  return m.values.find((v) => v.labels['endpoint'] === endpoint)?.value ?? 0;
}

async function drops(e: AuditEngine, reason: string): Promise<number> {
  const m = await e.metrics.drops.get();
  return m.values.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

describe('admission before the handler', () => {
  it('answers 503 + Retry-After + the JSON body when saturated, counts busy_rejections_total{endpoint=<template>}, and the handler never runs', async () => {
    const e = await engine(2);
    let ran = 0;
    const app = express();
    app.use(audit({ audit: e, retryAfter: 7 }));
    app.use(express.json());
    const api = express.Router();
    api.post('/orders/:id/lines', (_req, res) => {
      ran++;
      res.status(201).end();
    });
    app.use('/api', api);
    saturate(e);
    const res = await request(app).post('/api/orders/42/lines').send({ qty: 1 }).expect(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.headers['audit-id']).toBeUndefined();
    expect(res.body).toEqual({
      statusCode: 503,
      code: 'AUDIT_SATURATED',
      error: 'Service Unavailable',
      message: 'The audit trail is saturated; the request was not processed. Retry later.',
    });
    expect(ran).toBe(0);
    expect(await busyRejections(e, '/api/orders/:id/lines')).toBe(1);
    await request(app).get('/not/a/route').expect(503);
    expect(await busyRejections(e, '(unmatched)')).toBe(1);
    expect(await records(e)).toHaveLength(0);
  });

  it('refuses while one request holds the only slot (queueDepth 1), then admits again', async () => {
    const e = await engine(1);
    let release: () => void = () => undefined;
    let ran = 0;
    const app = express();
    app.use(audit({ audit: e }));
    app.get('/slow', (_req, res) => {
      release = () => res.send('done');
    });
    app.get('/fast', (_req, res) => {
      ran++;
      res.send('fast');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const slow = request(server).get('/slow').then((r) => r);
      while (!e.isSaturated()) await new Promise((r) => setTimeout(r, 2));
      const refused = await request(server).get('/fast');
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(ran).toBe(0);
      release();
      expect((await slow).status).toBe(200);
      while (e.isSaturated()) await new Promise((r) => setTimeout(r, 2));
      await request(server).get('/fast').expect(200);
      expect(ran).toBe(1);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('moves a route marked longLived out of the short-request budget, so a held stream does not starve other requests', async () => {
    const e = await engine(1);
    let endStream: () => void = () => undefined;
    const app = express();
    const auditor = audit({ audit: e });
    app.use(auditor);
    app.get('/events', auditor.route({ longLived: true }), (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: hello\n\n');
      endStream = () => res.end();
    });
    app.get('/fast', (_req, res) => {
      res.send('fast');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const stream = request(server).get('/events').buffer(true).then((r) => r);
      while (e.health().queue.occupancy === 0) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, 10));
      const fast = await request(server).get('/fast').expect(200);
      endStream();
      const streamed = await stream;
      expect(streamed.status).toBe(200);
      const rs = await waitForRecords(e, 2);
      expect(rs.map((r) => r.id)).toEqual([fast.headers['audit-id'], streamed.headers['audit-id']]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('passOnStoreError lets safe methods through unaudited (counted as unaudited_pass) and still refuses writes', async () => {
    const e = await engine(1);
    let gets = 0;
    let posts = 0;
    const app = express();
    app.use(audit({ audit: e, passOnStoreError: true }));
    app.get('/items', (_req, res) => {
      gets++;
      res.json([]);
    });
    app.post('/items', (_req, res) => {
      posts++;
      res.status(201).end();
    });
    saturate(e);
    const ok = await request(app).get('/items').expect(200);
    expect(ok.headers['audit-id']).toBeUndefined();
    await request(app).post('/items').expect(503);
    expect([gets, posts]).toEqual([1, 0]);
    expect(await drops(e, 'unaudited_pass')).toBe(1);
    // The refused POST is counted; whether the passed GET also counts as a rejection is the core's call.
    expect(await busyRejections(e, '/items')).toBeGreaterThanOrEqual(1);
  });

  it('uses statusCode, message and a custom handler(req, res, next, options) like express-rate-limit', async () => {
    const e = await engine(1);
    const app = express();
    app.use(
      audit({
        audit: e,
        statusCode: 429,
        message: 'busy, come back',
        handler: (_req, res, _next, options) => {
          res.status(options.statusCode).set('Retry-After', String(options.retryAfter)).set('X-Why', options.error.code).json(options.body);
        },
      }),
    );
    app.get('/x', (_req, res) => {
      res.end();
    });
    saturate(e);
    const res = await request(app).get('/x').expect(429);
    expect(res.headers['x-why']).toBe('AUDIT_QUEUE_FULL');
    expect(res.body).toEqual({ statusCode: 429, code: 'AUDIT_SATURATED', error: 'Too Many Requests', message: 'busy, come back' });
  });

  it('never refuses skip(req, res) requests nor routes the rules opt out, even when saturated', async () => {
    const e = await engine(1);
    const app = express();
    app.use(audit({ audit: e, skip: (req) => req.path === '/healthz', rules: [{ route: '/internal/ping', level: 'none' }] }));
    app.get('/healthz', (_req, res) => {
      res.send('ok');
    });
    app.get('/internal/ping', (_req, res) => {
      res.send('pong');
    });
    app.get('/audited', (_req, res) => {
      res.send('x');
    });
    saturate(e);
    await request(app).get('/healthz').expect(200);
    const ping = await request(app).get('/internal/ping').expect(200);
    expect(ping.headers['audit-id']).toBeUndefined();
    await request(app).get('/audited').expect(503);
  });

  it("fails closed for a route opted in by auditor.route() under a default level 'none' (route config is not visible before routing)", async () => {
    const e = await engine(1);
    let ran = 0;
    const app = express();
    const auditor = audit({ audit: e, level: 'none', rules: [{ path: '/healthz', level: 'none' }] });
    app.use(auditor);
    app.post('/payments', auditor.route({ level: 'request' }), (_req, res) => {
      ran++;
      res.status(201).end();
    });
    saturate(e);
    await request(app).post('/payments').expect(503);
    expect(ran).toBe(0);
  });

  it('lets routes the rules opt out answer while the engine is not ready (liveness must not depend on the key)', async () => {
    const e = createAudit(await engineOptions({ keyId: 'absent' }));
    engines.push(e);
    await e.ready().catch(() => undefined);
    const app = express();
    app.use(audit({ audit: e, rules: [{ route: '/healthz', level: 'none' }] }));
    app.get('/healthz', (_req, res) => {
      res.send('alive');
    });
    app.get('/work', (_req, res) => {
      res.send('x');
    });
    await request(app).get('/healthz').expect(200);
    await request(app).get('/work').expect(503);
  });

  it('supports an async skip()', async () => {
    const e = await engine(4);
    const app = express();
    app.use(audit({ audit: e, skip: async (req) => req.headers['x-probe'] === '1' }));
    app.get('/x', (_req, res) => {
      res.send('x');
    });
    const skipped = await request(app).get('/x').set('X-Probe', '1').expect(200);
    const audited = await request(app).get('/x').expect(200);
    expect(skipped.headers['audit-id']).toBeUndefined();
    expect(audited.headers['audit-id']).toBeDefined();
    const rs = await records(e);
    expect(rs.map((r) => r.id)).toEqual([audited.headers['audit-id']]);
  });

  it('fails closed with 503 while the engine is not ready (signing key missing)', async () => {
    const opts = await engineOptions({ keyId: 'absent' });
    const e = createAudit(opts);
    engines.push(e);
    await e.ready().catch(() => undefined);
    let ran = 0;
    const app = express();
    app.use(audit({ audit: e }));
    app.get('/x', (_req, res) => {
      ran++;
      res.end();
    });
    const res = await request(app).get('/x').expect(503);
    expect(res.body.code).toBe('AUDIT_NOT_READY');
    expect(res.headers['retry-after']).toBe('1');
    expect(ran).toBe(0);
  });
});
