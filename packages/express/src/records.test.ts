import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AuditEngine } from '@ron-audit/core';
import { audit, type AuditedRequest } from './index.js';
import { cleanup, testEngine, waitForRecords } from './test-support/fixture.js';

const engines: AuditEngine[] = [];
async function engine(): Promise<AuditEngine> {
  const e = await testEngine();
  engines.push(e);
  return e;
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(cleanup);

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('one record per request', () => {
  it('records method, route template, path, status, client, user agent, request id, trace ids, actor and sets Audit-Id', async () => {
    const e = await engine();
    const app = express();
    app.use(audit({ audit: e }));
    app.use((req, _res, next) => {
      (req as Request & { user?: unknown }).user = { id: 'u-42', name: 'Ada', roles: ['admin'] };
      next();
    });
    app.get('/orders/:id', (req, res) => {
      res.json({ id: req.params['id'] });
    });
    const res = await request(app)
      .get('/orders/7?expand=lines')
      .set('User-Agent', 'tester/1.0')
      .set('X-Request-Id', 'req-123')
      .set('traceparent', `00-${TRACE}-${SPAN}-01`)
      .expect(200);
    const [r] = await waitForRecords(e, 1);
    expect(res.headers['audit-id']).toBe(r!.id);
    expect(r!.action).toBe('GET /orders/:id');
    expect(r!.outcome).toBe('success');
    expect(r!.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/orders/:id',
      'url.path': '/orders/7',
      'url.query': 'expand=lines',
      'http.response.status_code': 200,
      'user_agent.original': 'tester/1.0',
      'url.scheme': 'http',
    });
    expect(r!.attributes['client.address']).toMatch(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
    expect(typeof r!.attributes['http.server.request.duration']).toBe('number');
    expect(r!['request_id']).toBe('req-123');
    expect(r!['trace_id']).toBe(TRACE);
    expect(r!['span_id']).toBe(SPAN);
    expect(r!.actor).toEqual({ id: 'u-42', type: 'user', name: 'Ada', groups: ['admin'] });
  });

  it('generates a request id when X-Request-Id is absent and exposes it on req.audit', async () => {
    const e = await engine();
    const app = express();
    app.use(audit({ audit: e }));
    app.get('/x', (req, res) => {
      const a = (req as AuditedRequest).audit!;
      res.json({ requestId: a.requestId, id: a.id, level: a.level });
    });
    const res = await request(app).get('/x').expect(200);
    const [r] = await waitForRecords(e, 1);
    expect(res.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r!['request_id']).toBe(res.body.requestId);
    expect(res.body.id).toBe(r!.id);
    expect(res.body.level).toBe('metadata');
    expect(r!.actor).toEqual({ id: 'anonymous', type: 'anonymous' });
  });

  it('takes the actor from the actor(req) hook, and setActor/setTarget/annotate from the handler win', async () => {
    const e = await engine();
    const app = express();
    app.use(audit({ audit: e, actor: (req) => ({ id: String(req.headers['x-user']), type: 'service' }), requestPropertyName: 'trail' }));
    app.get('/hook', (_req, res) => {
      res.send('ok');
    });
    app.delete('/orders/:id', (req, res) => {
      const t = (req as unknown as { trail: AuditedRequest['audit'] }).trail!;
      t.setActor({ id: 'alice', type: 'user' });
      t.setTarget({ type: 'order', id: String(req.params['id']) });
      t.annotate('reason', 'customer request');
      res.status(204).end();
    });
    await request(app).get('/hook').set('X-User', 'svc-billing').expect(200);
    await request(app).delete('/orders/9').expect(204);
    const [a, b] = await waitForRecords(e, 2);
    expect(a!.actor).toEqual({ id: 'svc-billing', type: 'service' });
    expect(b!.actor).toEqual({ id: 'alice', type: 'user' });
    expect(b!['target']).toEqual({ type: 'order', id: '9' });
    expect(b!.annotations).toEqual({ reason: 'customer request' });
  });

  it('reads the actor when the response ends, after authentication ran', async () => {
    const e = await engine();
    const app = express();
    app.use(audit({ audit: e }));
    app.post('/late', (req, res) => {
      setTimeout(() => {
        (req as Request & { user?: unknown }).user = { sub: 'jwt-subject' };
        res.status(201).end();
      }, 5);
    });
    await request(app).post('/late').expect(201);
    const [r] = await waitForRecords(e, 1);
    expect(r!.actor).toEqual({ id: 'jwt-subject', type: 'user' });
  });

  it('records requests rejected by authentication (401, 403) and unknown routes (404), each with Audit-Id', async () => {
    const e = await engine();
    const app = express();
    app.use(audit({ audit: e }));
    const requireToken = (req: Request, res: Response, next: NextFunction): void => {
      if (req.headers.authorization === undefined) {
        res.status(401).json({ error: 'unauthorized' });
        return;
      }
      if (req.headers.authorization !== 'Bearer admin') {
        res.status(403).json({ error: 'forbidden' });
        return;
      }
      next();
    };
    app.post('/admin/users', requireToken, (_req, res) => {
      res.status(201).end();
    });
    const r401 = await request(app).post('/admin/users').expect(401);
    const r403 = await request(app).post('/admin/users').set('Authorization', 'Bearer guest').expect(403);
    const r404 = await request(app).get('/nowhere').expect(404);
    const rs = await waitForRecords(e, 3);
    expect(rs.map((r) => r.id)).toEqual([r401.headers['audit-id'], r403.headers['audit-id'], r404.headers['audit-id']]);
    expect(rs.map((r) => [r.attributes['http.response.status_code'], r.outcome, r.attributes['http.route']])).toEqual([
      [401, 'failure', '/admin/users'],
      [403, 'failure', '/admin/users'],
      [404, 'failure', undefined],
    ]);
    expect(rs[2]!.action).toBe('GET (unmatched)');
  });

  it('records the full template of a nested router, also when its handler fails and a top-level error handler answers', async () => {
    const e = await engine();
    const app = express();
    const auditor = audit({ audit: e });
    app.use(auditor);
    const users = express.Router();
    users.get('/:id', (req, res, next) => {
      if (req.params['id'] === 'boom') return next(Object.assign(new Error('lookup failed'), { code: 'E_LOOKUP' }));
      res.json({ ok: true });
    });
    const api = express.Router();
    api.use('/users', users);
    app.use('/api/v1', api);
    app.use(auditor.errorHandler());
    app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).json({ error: err.message });
    });
    await request(app).get('/api/v1/users/7').expect(200);
    await request(app).get('/api/v1/users/boom').expect(500);
    const [ok, failed] = await waitForRecords(e, 2);
    expect(ok!.attributes['http.route']).toBe('/api/v1/users/:id');
    expect(failed!.attributes['http.route']).toBe('/api/v1/users/:id');
    expect(failed!.outcome).toBe('failure');
    expect(failed!.attributes['error.type']).toBe('E_LOOKUP');
    expect(failed!.attributes['exception.message']).toBe('lookup failed');
  });

  it('uses routeLabel(req) for mounts with parameters', async () => {
    const e = await engine();
    const app = express();
    app.use(audit({ audit: e, routeLabel: (req) => (req.route ? `/orgs/:org${String(req.route.path)}` : undefined) }));
    const org = express.Router({ mergeParams: true });
    org.get('/members/:member', (_req, res) => {
      res.end('ok');
    });
    app.use('/orgs/:org', org);
    await request(app).get('/orgs/acme/members/5').expect(200);
    const [r] = await waitForRecords(e, 1);
    expect(r!.attributes['http.route']).toBe('/orgs/:org/members/:member');
    expect(r!.attributes['url.path']).toBe('/orgs/acme/members/5');
  });

  it("records error.type/message through errorHandler() when a handler throws, and Express's 500 as failure", async () => {
    const e = await engine();
    const app = express();
    const auditor = audit({ audit: e });
    app.use(auditor);
    app.get('/throws', async () => {
      throw new TypeError('bad input');
    });
    app.use(auditor.errorHandler());
    const res = await request(app).get('/throws').expect(500);
    const [r] = await waitForRecords(e, 1);
    expect(res.headers['audit-id']).toBe(r!.id);
    expect(r!.outcome).toBe('failure');
    expect(r!.attributes['error.type']).toBe('TypeError');
    expect(r!.attributes['exception.message']).toBe('bad input');
  });

  describe("client address follows the app's 'trust proxy' setting", () => {
    it('ignores X-Forwarded-For by default', async () => {
      const e = await engine();
      const app = express();
      app.use(audit({ audit: e }));
      app.get('/ip', (req, res) => {
        res.send(req.ip);
      });
      await request(app).get('/ip').set('X-Forwarded-For', '203.0.113.9').expect(200);
      const [r] = await waitForRecords(e, 1);
      expect(r!.attributes['client.address']).not.toBe('203.0.113.9');
    });

    it("uses X-Forwarded-For with app.set('trust proxy', ...)", async () => {
      const e = await engine();
      const app = express();
      app.set('trust proxy', 'loopback');
      app.use(audit({ audit: e }));
      app.get('/ip', (req, res) => {
        res.send(req.ip);
      });
      await request(app).get('/ip').set('X-Forwarded-For', '203.0.113.9').set('X-Forwarded-Proto', 'https').expect(200);
      const [r] = await waitForRecords(e, 1);
      expect(r!.attributes['client.address']).toBe('203.0.113.9');
      expect(r!.attributes['url.scheme']).toBe('https');
    });
  });
});
