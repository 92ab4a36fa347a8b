import { randomBytes } from 'node:crypto';
import { cp } from 'node:fs/promises';
import { request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import express, { type Express } from 'express';
import request from 'supertest';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createAudit, localSigner, type AuditEngine, type CreateAuditOptions, type Signer } from '@ron-audit/core';
import { audit, type ExpressAuditOptions } from './index.js';
import { faultyFileOps, type FaultPlan } from './test-support/faults.js';
import { cleanup, engineOptions, records, tempDir } from './test-support/fixture.js';

/**
 * Option `durable`: a write's response leaves only once its record is fsynced in the WAL. Real
 * engines on temp WAL directories; the file layer is node:fs with injected fsync latency or
 * ENOSPC (test-support/faults.ts).
 */

const engines: AuditEngine[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) s.close();
  await Promise.all(engines.splice(0).map((e) => e.close().catch(() => undefined)));
});
afterAll(cleanup);

interface Macronode {
  readonly engine: AuditEngine;
  readonly options: CreateAuditOptions;
  readonly plan: FaultPlan;
}

/** A Macronode engine; the faults of `faults` apply once it is ready (opening the WAL stays fast and clean). */
async function macronode(faults: FaultPlan = {}, extra: Partial<CreateAuditOptions> = {}): Promise<Macronode> {
  const options = await engineOptions({ walEnabled: true, walDir: join(await tempDir(), 'wal'), ...extra });
  const plan: FaultPlan = {};
  const engine = createAudit({ ...options, fileOps: faultyFileOps(plan) });
  engines.push(engine);
  await engine.ready();
  Object.assign(plan, faults);
  return { engine, options, plan };
}

/** A second engine recovering from a copy of the WAL as it is on disk now: what a crash right now would keep. */
async function recoveredIds(m: Macronode): Promise<string[]> {
  const copy = join(await tempDir(), 'wal');
  await cp(m.options.walDir!, copy, { recursive: true });
  const second = createAudit({ ...m.options, walDir: copy });
  engines.push(second);
  await second.ready();
  return (await second.read()).map((r) => (r.record as { id: string }).id);
}

/** A signer that takes 150 ms per checkpoint (a remote KMS): Micronode acknowledges a record once it is signed. */
function slowSigner(): Signer {
  const key = localSigner('k', randomBytes(32));
  return { alias: key.alias, publicKey: key.publicKey, sign: async (m) => { await new Promise((r) => setTimeout(r, 150)); return key.sign(m); } };
}

function appWith(options: ExpressAuditOptions): Express {
  const auditor = audit(options);
  const app = express();
  app.use(auditor);
  app.use(express.json());
  app.get('/orders', (_req, res) => {
    res.json({ orders: [] });
  });
  app.post('/orders', (_req, res) => {
    res.status(201).location('/orders/1').set('ETag', '"v1"').json({ id: 1 });
  });
  app.post('/notes', (_req, res) => {
    res.status(201).json({ ok: true });
  });
  app.post('/held', auditor.route({ durable: true }), (_req, res) => {
    res.status(201).json({ ok: true });
  });
  app.delete('/orders/:id', auditor.route({ durable: false }), (_req, res) => {
    res.status(204).end();
  });
  app.post('/raw', (_req, res) => {
    res.writeHead(202, { 'x-kind': 'raw', 'content-type': 'text/plain' });
    res.write('a');
    res.end('b');
  });
  app.post('/stream', auditor.route({ level: 'requestResponse' }), (_req, res) => {
    res.status(201).type('text/plain');
    res.write('one,');
    setTimeout(() => res.end('two'), 20);
  });
  return app;
}

async function timed<T>(fn: () => PromiseLike<T>): Promise<[T, number]> {
  const t = performance.now();
  const value = await fn();
  return [value, performance.now() - t];
}

describe('durable: true holds write responses until the record is in the WAL', () => {
  it('the POST response arrives with its record already recoverable from the WAL', async () => {
    // A group-commit window of 150 ms: without the hold the response would leave long before the write.
    const m = await macronode({}, { walWindowMs: 150 });
    const res = await request(appWith({ audit: m.engine, durable: true })).post('/orders').send({ sku: 'a' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: 1 });
    const id = res.headers['audit-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await recoveredIds(m)).toContain(id);
    const r = (await records(m.engine)).find((x) => x.id === id);
    expect(r?.outcome).toBe('success');
    expect(r?.attributes['http.response.status_code']).toBe(201);
  });

  it('reads are never held; writes wait for the fsync; a route config wins over the option', async () => {
    const m = await macronode({ fsyncDelayMs: 200 });
    const app = appWith({ audit: m.engine, durable: true });
    const [get, getMs] = await timed(() => request(app).get('/orders'));
    expect(get.status).toBe(200);
    expect(get.headers['audit-id']).toBeDefined();
    expect(getMs).toBeLessThan(120);
    const [del, delMs] = await timed(() => request(app).delete('/orders/1'));
    expect(del.status).toBe(204);
    expect(delMs).toBeLessThan(120);
    const [post, postMs] = await timed(() => request(app).post('/orders').send({}));
    expect(post.status).toBe(201);
    expect(post.headers['audit-id']).toBeDefined();
    expect(post.headers['location']).toBe('/orders/1');
    expect(postMs).toBeGreaterThanOrEqual(195);
  });

  it('durable: false (the default) holds nothing but a route that opts in', async () => {
    const m = await macronode({ fsyncDelayMs: 200 });
    const app = appWith({ audit: m.engine });
    const [notes, notesMs] = await timed(() => request(app).post('/notes').send({}));
    expect(notes.status).toBe(201);
    expect(notesMs).toBeLessThan(120);
    const [held, heldMs] = await timed(() => request(app).post('/held').send({}));
    expect(held.status).toBe(201);
    expect(heldMs).toBeGreaterThanOrEqual(195);
  });

  it('an explicit writeHead and several writes are held and replayed as written', async () => {
    const m = await macronode({ fsyncDelayMs: 50 });
    const [res, ms] = await timed(() => request(appWith({ audit: m.engine, durable: true })).post('/raw').buffer(true));
    expect(res.status).toBe(202);
    expect(res.headers['x-kind']).toBe('raw');
    expect(res.text).toBe('ab');
    expect(ms).toBeGreaterThanOrEqual(45);
    const [r] = await records(m.engine);
    expect(r).toMatchObject({ id: res.headers['audit-id'], outcome: 'success' });
    expect(r!.attributes['http.response.status_code']).toBe(202);
  });

  it('at requestResponse a streamed write is committed at end(), with its whole body', async () => {
    const m = await macronode({ fsyncDelayMs: 50 });
    const res = await request(appWith({ audit: m.engine, durable: true })).post('/stream').buffer(true);
    expect(res.status).toBe(201);
    expect(res.text).toBe('one,two');
    const [r] = await records(m.engine);
    expect((r as { body?: { response?: unknown } }).body?.response).toMatchObject({ size: 7, truncated: false, content: 'one,two' });
  });

  it('a write whose record cannot be made durable (WAL ENOSPC) is answered 503 AUDIT_NOT_DURABLE; its record holds the handler answer', async () => {
    const m = await macronode();
    let handled = 0;
    const auditor = audit({ audit: m.engine, durable: true, retryAfter: 7 });
    const app = express();
    app.use(auditor);
    app.post('/orders', (_req, res) => {
      handled++;
      res.status(201).location('/orders/1').set('ETag', '"v1"').json({ id: 1 });
    });
    m.plan.writeError = 'ENOSPC';
    const res = await request(app).post('/orders').send({});
    expect(handled).toBe(1);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['etag']).toBeUndefined();
    const id = res.headers['audit-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body).toEqual({ statusCode: 503, code: 'AUDIT_NOT_DURABLE', error: 'Service Unavailable', message: expect.stringContaining('not provably audited') });
    expect(m.engine.health()).toMatchObject({ status: 'degraded', sinks: { wal: 'degraded' } });
    const [r] = await records(m.engine);
    expect(r).toMatchObject({ id, outcome: 'success' });
    expect(r!.attributes['http.response.status_code']).toBe(201);
  });

  it('durableFailOpen: true sends the handler response anyway', async () => {
    const m = await macronode();
    const app = appWith({ audit: m.engine, durable: true, durableFailOpen: true });
    m.plan.writeError = 'ENOSPC';
    const res = await request(app).post('/orders').send({});
    expect(res.status).toBe(201);
    expect(res.headers['location']).toBe('/orders/1');
    expect(res.body).toEqual({ id: 1 });
    const [r] = await records(m.engine);
    expect(r!.id).toBe(res.headers['audit-id']);
  });

  it('a client that leaves while its response is held: the record is the committed one (201), not an abort', async () => {
    const m = await macronode({ fsyncDelayMs: 200 });
    let handled = false;
    const auditor = audit({ audit: m.engine, durable: true });
    const app = express();
    app.use(auditor);
    app.post('/orders', (_req, res) => {
      handled = true;
      res.status(201).json({ id: 1 });
    });
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as { port: number };
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/orders', agent: false });
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', () => undefined);
    req.end();
    while (!handled) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    req.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const [r] = await records(m.engine);
    expect(r).toMatchObject({ outcome: 'success' });
    expect(r!.attributes['http.response.status_code']).toBe(201);
  });

  it('Micronode (no WAL): held writes are answered once the record is under a signed checkpoint', async () => {
    const e = createAudit({ signer: slowSigner(), origin: 'test.local/x', env: {} });
    engines.push(e);
    await e.ready();
    const [res, ms] = await timed(() => request(appWith({ audit: e, durable: true, level: 'requestResponse' })).post('/orders').send({ sku: 'a' }));
    expect(res.status).toBe(201);
    expect(ms).toBeGreaterThanOrEqual(145);
    expect(res.body).toEqual({ id: 1 });
    expect((e.checkpoint()?.size ?? 0) >= 1).toBe(true);
    const [r] = await records(e);
    expect(r).toMatchObject({ id: res.headers['audit-id'], outcome: 'success', body: { response: expect.objectContaining({ content: { id: 1 } }) } });
  });
});
