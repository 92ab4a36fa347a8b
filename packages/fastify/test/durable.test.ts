import { randomBytes } from 'node:crypto';
import { cp } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createAudit, isAuditError, localSigner, type AuditEngine, type CreateAuditOptions, type Signer } from '@ron-audit/core';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { faultyFileOps, type FaultPlan } from './faults.js';
import { app, keystore, records } from './helpers.js';

/**
 * Option `durable`: a write's response leaves only once its record is fsynced in the WAL. Real
 * engines on temp WAL directories; the file layer is node:fs with injected fsync latency or
 * ENOSPC (./faults.ts).
 */

const engines: AuditEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close().catch(() => undefined)));
});

interface Macronode {
  readonly engine: AuditEngine;
  readonly options: CreateAuditOptions;
  readonly plan: FaultPlan;
}

/** A Macronode engine; the faults of `faults` apply once it is ready (opening the WAL stays fast and clean). */
async function macronode(faults: FaultPlan = {}, extra: CreateAuditOptions = {}): Promise<Macronode> {
  const options: CreateAuditOptions = { keystoreDir: await keystore(), keyId: 'k', origin: 'test.local/fastify', env: {}, walEnabled: true, walDir: join(await keystore(false), 'wal'), ...extra };
  const plan: FaultPlan = {};
  const engine = createAudit({ ...options, fileOps: faultyFileOps(plan) });
  engines.push(engine);
  await engine.ready();
  Object.assign(plan, faults);
  return { engine, options, plan };
}

/** A second engine recovering from a copy of the WAL as it is on disk now: what a crash right now would keep. */
async function recoveredIds(m: Macronode): Promise<string[]> {
  const copy = join(await keystore(false), 'wal');
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

function routes(f: FastifyInstance): void {
  f.get('/orders', async () => ({ orders: [] }));
  f.post('/orders', async (_req, reply) => reply.code(201).header('location', '/orders/1').send({ id: 1 }));
  f.post('/notes', async (_req, reply) => reply.code(201).send({ ok: true }));
  f.post('/held', { config: { audit: { durable: true } } }, async (_req, reply) => reply.code(201).send({ ok: true }));
  f.delete('/orders/:id', { config: { audit: { durable: false } } }, async (_req, reply) => reply.code(204).send());
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const value = await fn();
  return [value, performance.now() - t];
}

describe('durable: true holds write responses until the record is in the WAL', () => {
  it('the POST response arrives with its record already recoverable from the WAL', async () => {
    // A group-commit window of 150 ms: without the hold the response would leave long before the write.
    const m = await macronode({}, { walWindowMs: 150 });
    const a = await app({ audit: m.engine, durable: true }, routes);
    const res = await a.inject({ method: 'POST', url: '/orders', payload: { sku: 'a' } });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ id: 1 });
    const id = res.headers['audit-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await recoveredIds(m)).toContain(id);
    // The record describes the response that was sent.
    const r = (await records(m.engine)).find((x) => x['id'] === id);
    expect(r?.['outcome']).toBe('success');
    expect(r?.attributes['http.response.status_code']).toBe(201);
  });

  it('reads are never held; writes wait for the fsync; a route config wins over the option', async () => {
    const m = await macronode({ fsyncDelayMs: 200 });
    const a = await app({ audit: m.engine, durable: true }, routes);
    const [get, getMs] = await timed(() => a.inject('/orders'));
    expect(get.statusCode).toBe(200);
    expect(get.headers['audit-id']).toBeDefined();
    expect(getMs).toBeLessThan(120);
    const [del, delMs] = await timed(() => a.inject({ method: 'DELETE', url: '/orders/1' }));
    expect(del.statusCode).toBe(204);
    expect(delMs).toBeLessThan(120);
    const [post, postMs] = await timed(() => a.inject({ method: 'POST', url: '/orders', payload: {} }));
    expect(post.statusCode).toBe(201);
    expect(post.headers['audit-id']).toBeDefined();
    expect(postMs).toBeGreaterThanOrEqual(195);
  });

  it('durable: false (the default) holds nothing but a route that opts in', async () => {
    const m = await macronode({ fsyncDelayMs: 200 });
    const a = await app({ audit: m.engine }, routes);
    const [notes, notesMs] = await timed(() => a.inject({ method: 'POST', url: '/notes', payload: {} }));
    expect(notes.statusCode).toBe(201);
    expect(notesMs).toBeLessThan(120);
    const [held, heldMs] = await timed(() => a.inject({ method: 'POST', url: '/held', payload: {} }));
    expect(held.statusCode).toBe(201);
    expect(heldMs).toBeGreaterThanOrEqual(195);
  });

  it('a write whose record cannot be made durable (WAL ENOSPC) is answered 503 AUDIT_NOT_DURABLE; its record holds the handler answer', async () => {
    const m = await macronode();
    let handled = 0;
    const a = await app({ audit: m.engine, durable: true, retryAfter: 7 }, (f) =>
      f.post('/orders', async (_req, reply) => {
        handled++;
        return reply.code(201).header('location', '/orders/1').header('etag', '"v1"').send({ id: 1 });
      }),
    );
    m.plan.writeError = 'ENOSPC';
    const res = await a.inject({ method: 'POST', url: '/orders', payload: {} });
    expect(handled).toBe(1);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['etag']).toBeUndefined();
    const id = res.headers['audit-id'];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.json()).toEqual({ statusCode: 503, code: 'AUDIT_NOT_DURABLE', error: 'Service Unavailable', message: expect.stringContaining('not provably audited') });
    expect(m.engine.health()).toMatchObject({ status: 'degraded', sinks: { wal: 'degraded' } });
    const [r] = await records(m.engine);
    expect(r).toMatchObject({ id, outcome: 'success' });
    expect(r!.attributes['http.response.status_code']).toBe(201);
  });

  it('the 503 is a Fastify error: the host error handler sees an AuditNotDurableError', async () => {
    const m = await macronode();
    const seen: unknown[] = [];
    const a = await app({ audit: m.engine, durable: true }, (f) => {
      f.setErrorHandler(async (err, _req, reply) => {
        seen.push(err);
        return reply.send({ problem: (err as { code?: string }).code });
      });
      f.post('/orders', async (_req, reply) => reply.code(201).send({ id: 1 }));
    });
    m.plan.writeError = 'EIO';
    const res = await a.inject({ method: 'POST', url: '/orders', payload: {} });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toEqual({ problem: 'AUDIT_NOT_DURABLE' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ name: 'AuditNotDurableError', statusCode: 503, recordId: res.headers['audit-id'] });
    expect(isAuditError((seen[0] as Error).cause, 'AUDIT_NOT_DURABLE')).toBe(true);
  });

  it('durableFailOpen: true sends the handler response anyway', async () => {
    const m = await macronode();
    const a = await app({ audit: m.engine, durable: true, durableFailOpen: true }, routes);
    m.plan.writeError = 'ENOSPC';
    const res = await a.inject({ method: 'POST', url: '/orders', payload: {} });
    expect(res.statusCode).toBe(201);
    expect(res.headers['location']).toBe('/orders/1');
    expect(res.json()).toEqual({ id: 1 });
    const [r] = await records(m.engine);
    expect(r!['id']).toBe(res.headers['audit-id']);
  });

  it('an async handler that calls reply.send() without returning reply is still held, and answered once', async () => {
    const m = await macronode({ fsyncDelayMs: 100 });
    const a = await app({ audit: m.engine, durable: true }, (f) =>
      f.post('/orders', async (_req, reply) => {
        void reply.code(201).send({ id: 1 });
      }),
    );
    const [res, ms] = await timed(() => a.inject({ method: 'POST', url: '/orders', payload: {} }));
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ id: 1 });
    expect(ms).toBeGreaterThanOrEqual(95);
    expect(await records(m.engine)).toHaveLength(1);
  });

  it('a client that leaves while its response is held: the record is the committed one (201), not an abort', async () => {
    const m = await macronode({ fsyncDelayMs: 200 });
    let handled = false;
    const a = await app({ audit: m.engine, durable: true }, (f) =>
      f.post('/orders', async (_req, reply) => {
        handled = true;
        return reply.code(201).send({ id: 1 });
      }),
    );
    await a.listen({ port: 0, host: '127.0.0.1' });
    const { port } = a.server.address() as { port: number };
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, agent: false });
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', () => undefined);
    req.end('{}');
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
    const e = createAudit({ signer: slowSigner(), origin: 'test.local/fastify', env: {} });
    engines.push(e);
    await e.ready();
    const a = await app({ audit: e, durable: true, level: 'requestResponse' }, routes);
    const [res, ms] = await timed(() => a.inject({ method: 'POST', url: '/orders', payload: { sku: 'a' } }));
    expect(res.statusCode).toBe(201);
    expect(ms).toBeGreaterThanOrEqual(145);
    expect(res.json()).toEqual({ id: 1 });
    expect((e.checkpoint()?.size ?? 0) >= 1).toBe(true);
    const [r] = await records(e);
    expect(r).toMatchObject({ id: res.headers['audit-id'], outcome: 'success', body: { response: expect.objectContaining({ content: { id: 1 } }) } });
  });
});
