import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AuditEngine } from '@ron-audit/core';
import { audit } from './index.js';
import { cleanup, engineOptions, records, sleep, testEngine, waitForRecords } from './test-support/fixture.js';

const engines: AuditEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(cleanup);

async function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('request life cycle on a real server', () => {
  it("records a request whose client hung up mid-request as 'aborted'", async () => {
    const e = await testEngine();
    engines.push(e);
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    let finishHandler!: () => void;
    const app = express();
    app.use(audit({ audit: e }));
    app.get('/wait', (_req, res) => {
      entered();
      finishHandler = () => res.send('late');
    });
    const { server, url } = await listen(app);
    try {
      const req = httpRequest(`${url}/wait`, { headers: { 'X-Request-Id': 'abort-1' } });
      req.on('error', () => undefined);
      req.end();
      await inHandler;
      req.destroy();
      const [r] = await waitForRecords(e, 1);
      expect(r!.outcome).toBe('aborted');
      expect(r!['request_id']).toBe('abort-1');
      expect(r!.attributes['http.route']).toBe('/wait');
      // No response reached the client: the core records no status code for it.
      expect(r!.attributes['http.response.status_code']).toBeUndefined();
      finishHandler();
      await sleep(20);
      expect(await records(e)).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('loses no record on shutdown under load: every 2xx answer has its record (Audit-Id matched), and close drains the engine it created', async () => {
    const app = express();
    const auditor = audit({ engine: await engineOptions({ queueDepth: 256 }) });
    await auditor.engine.ready();
    app.use(auditor);
    let entered = 0;
    app.post('/work/:n', (req, res) => {
      entered++;
      setTimeout(() => res.status(201).json({ n: req.params['n'] }), 5 + (Number(req.params['n']) % 7) * 3);
    });
    const { server, url } = await listen(app);
    const N = 120;
    const inflight = Array.from({ length: N }, (_, i) =>
      fetch(`${url}/work/${i}`, { method: 'POST' }).then(
        (r) => ({ status: r.status, id: r.headers.get('audit-id') }),
        () => ({ status: 0, id: null }),
      ),
    );
    while (entered < N / 2) await sleep(1);
    // The host's SIGTERM path: stop accepting, drain the audit trail (waits for open slots).
    const closed = Promise.all([new Promise((r) => server.close(r)), auditor.close()]);
    const answers = await Promise.all(inflight);
    server.closeIdleConnections();
    await closed;
    expect(auditor.engine.health().status).toBe('closed');
    const ok = answers.filter((a) => a.status >= 200 && a.status < 300);
    expect(ok.length).toBeGreaterThan(0);
    const ids = new Set((await records(auditor.engine)).map((r) => r.id));
    for (const a of ok) expect(ids.has(a.id!)).toBe(true);
    for (const a of answers) if (a.status !== 0 && (a.status < 200 || a.status >= 300)) expect(a.status).toBe(503);
    expect(auditor.engine.checkpoint()?.size).toBe(ids.size);
  });

  it('close() with an engine the host owns flushes it but leaves it open', async () => {
    const e = await testEngine();
    engines.push(e);
    const auditor = audit({ audit: e });
    await auditor.close();
    expect(e.health().status).toBe('ready');
    await expect(auditor.healthCheck()).rejects.toMatchObject({ code: 'AUDIT_CLOSED', statusCode: 503 });
  });
});
