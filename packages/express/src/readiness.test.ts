import express from 'express';
import request from 'supertest';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createAudit, type AuditEngine } from '@ron-audit/core';
import { audit, AuditNotReadyError } from './index.js';
import { cleanup, engineOptions, records, testEngine } from './test-support/fixture.js';

const engines: AuditEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(cleanup);

async function keylessEngine(): Promise<AuditEngine> {
  const e = createAudit(await engineOptions({ keyId: 'missing' }));
  engines.push(e);
  await e.ready().catch(() => undefined);
  return e;
}

describe('readiness', () => {
  it('readyz() answers 200 while ready and 503 with the reason after close (shutting down is not ready)', async () => {
    const e = await testEngine();
    engines.push(e);
    const auditor = audit({ audit: e, rules: [{ route: '/readyz', level: 'none' }] });
    const app = express();
    app.use(auditor);
    app.get('/readyz', auditor.readyz());
    const ok = await request(app).get('/readyz').expect(200);
    expect(ok.headers['audit-id']).toBeUndefined();
    expect(ok.body).toEqual({ status: 'ready' });
    await expect(auditor.healthCheck()).resolves.toBeUndefined();
    await e.close();
    const down = await request(app).get('/readyz').expect(503);
    expect(down.body.status).toBe('not_ready');
    expect(down.body.reasons.map((r: { code: string }) => r.code)).toContain('AUDIT_CLOSED');
  });

  it('is not ready while the signing key is missing; healthCheck() rejects with an AuditNotReadyError of statusCode 503', async () => {
    const e = await keylessEngine();
    const auditor = audit({ audit: e, skip: (req) => req.path === '/readyz' });
    const app = express();
    app.use(auditor);
    app.get('/readyz', auditor.readyz());
    const res = await request(app).get('/readyz').expect(503);
    expect(res.body.reasons[0].code).toBe('AUDIT_KEY_UNAVAILABLE');
    const err = await auditor.healthCheck().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(AuditNotReadyError);
    expect(err).toMatchObject({ code: 'AUDIT_KEY_UNAVAILABLE', statusCode: 503 });
  });

  it("awaiting healthCheck() in the host's own /readyz answers 503 through Express's error handling", async () => {
    const e = await keylessEngine();
    const auditor = audit({ audit: e });
    const app = express();
    app.use(auditor);
    app.get('/readyz', async (_req, res) => {
      await auditor.healthCheck();
      res.send('ok');
    });
    await request(app).get('/readyz').expect(503);
  });

  describe("option readiness: joins the host's /readyz, or adds one", () => {
    it('answers 503 with the reason in front of the host route while not ready, and lets the host route answer when ready', async () => {
      const bad = await keylessEngine();
      const good = await testEngine();
      engines.push(good);
      for (const [e, status, body] of [
        [bad, 503, 'not_ready'],
        [good, 200, 'host'],
      ] as const) {
        const app = express();
        app.use(audit({ audit: e, readiness: true }));
        app.get('/readyz', (_req, res) => {
          res.json({ status: 'host' });
        });
        const res = await request(app).get('/readyz').expect(status);
        expect(res.body.status).toBe(body);
      }
      expect(await records(good)).toHaveLength(0);
    });

    it('answers on its own path when the host has no such route', async () => {
      const e = await testEngine();
      engines.push(e);
      const app = express();
      const auditor = audit({ audit: e, readiness: '/-/ready' });
      app.use(auditor);
      const res = await request(app).get('/-/ready').expect(200);
      expect(res.body).toEqual({ status: 'ready' });
      expect(res.headers['audit-id']).toBeUndefined();
      await auditor.close();
      await request(app).get('/-/ready').expect(503);
    });
  });
});

describe('metrics', () => {
  it("puts the engine's metrics on the host's registry, served only where the host mounts metricsHandler()", async () => {
    const registry = new Registry();
    const auditor = audit({ engine: await engineOptions(), registry });
    await auditor.engine.ready();
    const app = express();
    app.use(auditor);
    app.get('/metrics', auditor.route(false), auditor.metricsHandler());
    app.get('/x', (_req, res) => {
      res.end();
    });
    await request(app).get('/x').expect(200);
    await auditor.engine.flush();
    const res = await request(app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^audit_appended_total 1$/m);
    expect(res.text).toMatch(/busy_rejections_total/);
    expect(await registry.getSingleMetricAsString('audit_appended_total')).toMatch(/ 1$/m);
    await auditor.close();
  });

  it('serves two apps in one process, and one app rebuilt 10 times on one registry, without registration errors', async () => {
    const registry = new Registry();
    const build = async (): Promise<{ app: express.Express; auditor: ReturnType<typeof audit> }> => {
      const auditor = audit({ engine: await engineOptions(), registry });
      await auditor.engine.ready();
      const app = express();
      app.use(auditor);
      app.get('/x', (_req, res) => {
        res.end();
      });
      return { app, auditor };
    };
    const a = await build();
    const b = await build();
    await request(a.app).get('/x').expect(200);
    await request(b.app).get('/x').expect(200);
    await Promise.all([a.auditor.close(), b.auditor.close()]);
    for (let i = 0; i < 10; i++) {
      const c = await build();
      await request(c.app).get('/x').expect(200);
      await c.auditor.close();
    }
    expect(await registry.getSingleMetricAsString('audit_appended_total')).toMatch(/ 12$/m);
  });
});
