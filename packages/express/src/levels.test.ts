import express from 'express';
import request from 'supertest';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { captureBody, type AuditEngine } from '@ron-audit/core';
import { audit, DIGEST_BYTES_ANNOTATION, RESPONSE_CAPTURE_CAP_BYTES, type AuditedRequest } from './index.js';
import { cleanup, recordText, records, sleep, testEngine, waitForRecords } from './test-support/fixture.js';

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

type Body = { size: number; digest: string; truncated: boolean; encoding: string; content: unknown };
const bodyOf = (r: Record<string, unknown>): { request?: Body; response?: Body } | undefined => r['body'] as { request?: Body; response?: Body } | undefined;

describe('per-route levels', () => {
  it('opts a route out with auditor.route(false) or a rule: no record, no Audit-Id, and the slot is given back', async () => {
    const e = await engine();
    const app = express();
    const auditor = audit({ audit: e, rules: [{ route: '/internal/:op', level: 'none' }] });
    app.use(auditor);
    app.get('/health', auditor.route(false), (_req, res) => {
      res.send('ok');
    });
    app.get('/internal/:op', (_req, res) => {
      res.send('ok');
    });
    app.get('/kept', (_req, res) => {
      res.send('ok');
    });
    const a = await request(app).get('/health').expect(200);
    const b = await request(app).get('/internal/flush').expect(200);
    const c = await request(app).get('/kept').expect(200);
    expect(a.headers['audit-id']).toBeUndefined();
    expect(b.headers['audit-id']).toBeUndefined();
    const rs = await waitForRecords(e, 1);
    await sleep(20);
    expect((await records(e)).map((r) => r.id)).toEqual([c.headers['audit-id']]);
    expect(rs[0]!.attributes['http.route']).toBe('/kept');
    expect(e.health().queue.occupancy).toBe(0);
  });

  it('chooses the level by route config first, then the first matching rule, then the default; route config also names the action', async () => {
    const e = await engine();
    const app = express();
    const auditor = audit({
      audit: e,
      level: 'none',
      rules: [
        { method: 'POST', route: /^\/orders/, level: 'request' },
        { path: '/orders/special', level: 'requestResponse' },
      ],
    });
    app.use(auditor);
    app.use(express.json());
    app.post('/orders', (req, res) => {
      res.status(201).json({ got: req.body });
    });
    app.post('/orders/special', auditor.route({ level: 'metadata', action: 'order.special' }), (_req, res) => {
      res.status(201).end();
    });
    app.get('/unlisted', (_req, res) => {
      res.send('x');
    });
    const created = await request(app).post('/orders').send({ sku: 'A1', qty: 2 }).expect(201);
    const special = await request(app).post('/orders/special').send({ sku: 'B' }).expect(201);
    const none = await request(app).get('/unlisted').expect(200);
    expect(none.headers['audit-id']).toBeUndefined();
    const [a, b] = await waitForRecords(e, 2);
    expect(a!.id).toBe(created.headers['audit-id']);
    expect(bodyOf(a!)?.request).toMatchObject({ encoding: 'json', truncated: false, content: { sku: 'A1', qty: 2 } });
    expect(bodyOf(a!)?.response).toBeUndefined();
    expect(a!.attributes['http.request.header.content-type']).toEqual(['application/json']);
    expect(b!.id).toBe(special.headers['audit-id']);
    expect(b!.action).toBe('order.special');
    expect(bodyOf(b!)).toBeUndefined();
    expect(b!.attributes['http.request.header.content-type']).toBeUndefined();
  });

  it('reading req.audit.level before routing does not fix the level (a rule on the route still applies)', async () => {
    const e = await engine();
    const app = express();
    const seen: string[] = [];
    app.use(audit({ audit: e, level: 'none', rules: [{ route: '/audited/:id', level: 'metadata' }] }));
    app.use((req, _res, next) => {
      seen.push((req as AuditedRequest).audit!.level);
      next();
    });
    app.get('/audited/:id', (req, res) => {
      seen.push((req as AuditedRequest).audit!.level);
      res.send('x');
    });
    const res = await request(app).get('/audited/1').expect(200);
    expect(seen).toEqual(['none', 'metadata']);
    const [r] = await waitForRecords(e, 1);
    expect(r!.id).toBe(res.headers['audit-id']);
  });

  it('captures request and response bodies at requestResponse, with response headers', async () => {
    const e = await engine();
    const app = express();
    const auditor = audit({ audit: e });
    app.use(auditor);
    app.use(express.text());
    app.put('/notes/:id', auditor.route({ level: 'requestResponse' }), (req, res) => {
      res.set('X-Version', '3');
      res.write('saved: ');
      res.end(String(req.body));
    });
    await request(app).put('/notes/1').set('Content-Type', 'text/plain').send('héllo').expect(200);
    const [r] = await waitForRecords(e, 1);
    const body = bodyOf(r!)!;
    expect(body.request).toMatchObject({ encoding: 'utf8', truncated: false, content: 'héllo', size: 6 });
    expect(body.response).toMatchObject({ encoding: 'utf8', truncated: false, content: 'saved: héllo', size: 13 });
    expect(body.response!.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(r!.attributes['http.response.header.x-version']).toEqual(['3']);
  });

  it('cuts bodies at maxBodyBytes: truncated, original size, digest of the whole body', async () => {
    const e = await engine();
    const app = express();
    app.use(audit({ audit: e, level: 'requestResponse', maxBodyBytes: 16 }));
    app.use(express.json());
    app.post('/big', (_req, res) => {
      res.type('text/plain').send('x'.repeat(100));
    });
    await request(app).post('/big').send({ text: 'y'.repeat(200) }).expect(200);
    const [r] = await waitForRecords(e, 1);
    const body = bodyOf(r!)!;
    expect(body.request).toMatchObject({ truncated: true, content: '' });
    expect(body.request!.size).toBeGreaterThan(200);
    expect(body.response).toMatchObject({ truncated: true, size: 100, encoding: 'utf8', content: 'x'.repeat(16) });
    expect(body.response!.digest).toBe(captureBody(Buffer.from('x'.repeat(100)), { maxBytes: 0 })!.digest);
  });

  it('keeps a bounded buffer for responses over the capture cap: true size, truncated, and an annotation saying what the digest covers', async () => {
    const e = await engine();
    const app = express();
    app.use(audit({ audit: e, level: 'requestResponse', maxBodyBytes: 32 }));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const chunks = Math.ceil(RESPONSE_CAPTURE_CAP_BYTES / chunk.length) + 4;
    app.get('/download', (_req, res) => {
      res.type('application/octet-stream');
      for (let i = 0; i < chunks; i++) res.write(chunk);
      res.end();
    });
    await request(app).get('/download').buffer(true).expect(200);
    const [r] = await waitForRecords(e, 1);
    const response = bodyOf(r!)!.response!;
    expect(response).toMatchObject({ truncated: true, size: chunks * chunk.length, encoding: 'base64' });
    expect(Buffer.from(response.content as string, 'base64')).toHaveLength(32);
    expect(r!.annotations[DIGEST_BYTES_ANNOTATION]).toBe(String(RESPONSE_CAPTURE_CAP_BYTES));
  });

  it('never writes the Authorization header, cookies or ?token= into the record bytes', async () => {
    const e = await engine();
    const app = express();
    app.use(audit({ audit: e, level: 'request' }));
    app.use(express.json());
    app.post('/login', (_req, res) => {
      res.json({ ok: true });
    });
    await request(app)
      .post('/login?token=sekrit-query-token&page=2')
      .set('Authorization', 'Bearer sekrit-bearer-token')
      .set('Cookie', 'sid=sekrit-cookie')
      .send({ user: 'ada', password: 'sekrit-password' })
      .expect(200);
    await waitForRecords(e, 1);
    const text = await recordText(e);
    expect(text).not.toMatch(/sekrit/);
    const [r] = await records(e);
    expect(r!.attributes['http.request.header.authorization']).toEqual(['[REDACTED]']);
    expect(r!.attributes['url.query']).toMatch(/page=2/);
  });
});
