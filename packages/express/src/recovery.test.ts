import type { Server } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { heldRecovery, writtenWal, type WalFixture } from '../../core/test/support/recovery-fixture.js';
import { audit, type ExpressAudit } from './index.js';

/**
 * Regression (issue 13 item 8): while the engine was still recovering its WAL, the middleware
 * answered audited writes 201 with an Audit-Id, and when recovery then refused, those records were
 * dropped (7 and 4 records in two runs). A real WAL, recovery held by the file layer, a real server.
 */

let fixture: WalFixture | undefined;
let auditor: ExpressAudit | undefined;
let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  await auditor?.close({ timeoutMs: 0 });
  await fixture?.remove();
  fixture = auditor = server = undefined;
});

let orders = 0;

async function serve(a: ExpressAudit): Promise<string> {
  const app = express();
  app.use(a);
  app.use(express.json());
  app.post('/orders', a.route({ durable: true }), (_req, res) => {
    orders++;
    res.status(201).json({ ok: true });
  });
  app.get('/healthz', (_req, res) => res.json({ status: 'ok' }));
  const s = app.listen(0, '127.0.0.1');
  server = s;
  await new Promise((r) => s.once('listening', r));
  const { port } = s.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

const order = (url: string): Promise<Response> => fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sku":"A-1"}' });

async function expectRefused(url: string): Promise<void> {
  const res = await order(url);
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('1');
  expect(res.headers.get('audit-id')).toBeNull();
  expect(await res.json()).toMatchObject({ statusCode: 503, code: 'AUDIT_NOT_READY' });
}

describe('express: ready before recovery', () => {
  it('while the WAL is recovered: audited routes 503 + Retry-After, /readyz 503 with the reason, handler not run; afterwards 201 and recorded', async () => {
    fixture = await writtenWal(12, 'test.local/express-recovery');
    const held = heldRecovery(fixture.walDir);
    auditor = audit({ engine: fixture.options({ fileOps: held.fileOps }), readiness: true, skip: (req) => req.path === '/healthz' });
    const url = await serve(auditor);
    await held.reached;
    orders = 0;
    await expectRefused(url);
    await expectRefused(url);
    expect(orders).toBe(0);
    const readyz = await fetch(`${url}/readyz`);
    expect(readyz.status).toBe(503);
    const body = (await readyz.json()) as { status: string; reasons: { code: string; message: string }[] };
    expect(body.status).toBe('not_ready');
    expect(body.reasons[0]).toMatchObject({ code: 'AUDIT_NOT_READY', message: expect.stringContaining('recovering the write-ahead log') as string });
    // Liveness does not wait for recovery.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    held.release();
    await auditor.engine.ready();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const ok = await order(url);
    expect(ok.status).toBe(201);
    const id = ok.headers.get('audit-id');
    expect(id).not.toBeNull();
    expect(orders).toBe(1);
    await auditor.engine.flush();
    const recs = await auditor.engine.read();
    // The 12 recovered records, then the one write answered after recovery; none from before.
    expect(recs.map((r) => r.record['id'])).toEqual([...recs.slice(0, 12).map((r) => r.record['id']), id]);
  });

  it('recovery refusing (AUDIT_WAL_CORRUPT): still 503 afterwards, /readyz names the reason, and nothing is appended', async () => {
    fixture = await writtenWal(12, 'test.local/express-recovery');
    await fixture.damage();
    const before = await fixture.state();
    const held = heldRecovery(fixture.walDir);
    auditor = audit({ engine: fixture.options({ fileOps: held.fileOps }), readiness: true });
    const url = await serve(auditor);
    await held.reached;
    orders = 0;
    await expectRefused(url);
    held.release();
    await expect(auditor.engine.ready()).rejects.toMatchObject({ code: 'AUDIT_WAL_CORRUPT' });
    for (let i = 0; i < 3; i++) await expectRefused(url);
    expect(orders).toBe(0);
    const readyz = await fetch(`${url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(((await readyz.json()) as { reasons: { code: string }[] }).reasons.map((r) => r.code)).toEqual(['AUDIT_WAL_CORRUPT']);
    await new Promise((r) => server!.close(r));
    server = undefined;
    await auditor.close();
    expect(await fixture.state()).toBe(before);
  });
});
