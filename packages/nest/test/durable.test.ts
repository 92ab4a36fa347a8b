import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BadRequestException, Controller, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { createAudit, localSigner, type AuditEngine, type CreateAuditOptions, type Signer } from '@ron-audit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Audit, type AuditModuleRootOptions } from '../src/index.js';
import { faultyFileOps, type FaultPlan } from './faults.js';
import { engineOptions, PLATFORMS, records, start, type Running } from './harness.js';

/**
 * Option `durable`: a write's response leaves only once its record is fsynced in the WAL, on both
 * platforms. Real engines on temp WAL directories; the file layer is node:fs with injected fsync
 * latency or ENOSPC (./faults.ts).
 */

let handled = 0;

@Controller('d')
class DurableController {
  @Get('orders')
  list(): { orders: [] } {
    return { orders: [] };
  }

  @Post('orders')
  create(): { id: number } {
    handled++;
    return { id: 1 };
  }

  @Post('held')
  @Audit({ durable: true })
  held(): { ok: true } {
    return { ok: true };
  }

  @Delete('orders/:id')
  @HttpCode(204)
  @Audit({ durable: false })
  remove(): void {}

  @Post('bad')
  bad(): never {
    throw new BadRequestException('no such sku');
  }
}

const running: Running[] = [];
const engines: AuditEngine[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.app.close()));
  await Promise.all(engines.splice(0).map((e) => e.close().catch(() => undefined)));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ron-audit-nest-wal-'));
  dirs.push(dir);
  return dir;
}

interface Macronode {
  readonly engine: AuditEngine;
  readonly options: CreateAuditOptions;
  readonly plan: FaultPlan;
}

/** A host-created Macronode engine; the faults of `faults` apply once it is ready (opening the WAL stays fast and clean). */
async function macronode(faults: FaultPlan = {}, extra: CreateAuditOptions = {}): Promise<Macronode> {
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

async function app(platform: (typeof PLATFORMS)[number], options: AuditModuleRootOptions): Promise<Running> {
  const run = await start(platform, options, { controllers: [DurableController] });
  running.push(run);
  return run;
}

async function timed(url: string, init: RequestInit = {}): Promise<[Response, string, number]> {
  const t = performance.now();
  const res = await fetch(url, init);
  const body = await res.text();
  return [res, body, performance.now() - t];
}

const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' };

describe.each(PLATFORMS)('durable on platform-%s', (platform) => {
  it('the POST response arrives with its record already recoverable from the WAL', async () => {
    // A group-commit window of 150 ms: without the hold the response would leave long before the write.
    const m = await macronode({}, { walWindowMs: 150 });
    const run = await app(platform, { audit: m.engine, durable: true });
    const [res, body] = await timed(`${run.url}/d/orders`, post);
    expect(res.status).toBe(201);
    expect(JSON.parse(body)).toEqual({ id: 1 });
    const id = res.headers.get('audit-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await recoveredIds(m)).toContain(id);
    const r = (await records(m.engine)).find((x) => x.id === id);
    expect(r?.outcome).toBe('success');
    expect(r?.attributes['http.response.status_code']).toBe(201);
  });

  it('reads are never held; writes wait for the fsync, exception-filter answers too; @Audit({ durable: false }) wins', async () => {
    const m = await macronode({ fsyncDelayMs: 200 });
    const run = await app(platform, { audit: m.engine, durable: true });
    const [get, , getMs] = await timed(`${run.url}/d/orders`);
    expect(get.status).toBe(200);
    expect(get.headers.get('audit-id')).not.toBeNull();
    expect(getMs).toBeLessThan(120);
    const [del, , delMs] = await timed(`${run.url}/d/orders/1`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(delMs).toBeLessThan(120);
    const [created, , createdMs] = await timed(`${run.url}/d/orders`, post);
    expect(created.status).toBe(201);
    expect(created.headers.get('audit-id')).not.toBeNull();
    expect(createdMs).toBeGreaterThanOrEqual(195);
    const [bad, badBody, badMs] = await timed(`${run.url}/d/bad`, post);
    expect(bad.status).toBe(400);
    expect(JSON.parse(badBody)).toMatchObject({ message: 'no such sku' });
    expect(badMs).toBeGreaterThanOrEqual(195);
    const r = (await records(m.engine)).find((x) => x.id === bad.headers.get('audit-id'));
    expect(r).toMatchObject({ outcome: 'failure', attributes: { 'http.response.status_code': 400 } });
  });

  it('durable: false (the default) holds nothing but a route with @Audit({ durable: true })', async () => {
    const m = await macronode({ fsyncDelayMs: 200 });
    const run = await app(platform, { audit: m.engine });
    const [created, , createdMs] = await timed(`${run.url}/d/orders`, post);
    expect(created.status).toBe(201);
    expect(createdMs).toBeLessThan(120);
    const [held, , heldMs] = await timed(`${run.url}/d/held`, post);
    expect(held.status).toBe(201);
    expect(heldMs).toBeGreaterThanOrEqual(195);
  });

  it('a write whose record cannot be made durable (WAL ENOSPC) is answered 503 AUDIT_NOT_DURABLE; its record holds the handler answer', async () => {
    const plan: FaultPlan = {};
    // The module creates this engine: engine options carry the file layer through.
    const run = await app(platform, { engine: await engineOptions({ walEnabled: true, walDir: join(await tempDir(), 'wal'), fileOps: faultyFileOps(plan) }), durable: true, retryAfter: 7 });
    await run.engine.ready();
    plan.writeError = 'ENOSPC';
    handled = 0;
    const [res, body] = await timed(`${run.url}/d/orders`, post);
    expect(handled).toBe(1);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const id = res.headers.get('audit-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(body)).toEqual({ statusCode: 503, code: 'AUDIT_NOT_DURABLE', error: 'Service Unavailable', message: expect.stringContaining('not provably audited') });
    expect(run.engine.health()).toMatchObject({ status: 'degraded', sinks: { wal: 'degraded' } });
    const [r] = await records(run.engine);
    expect(r).toMatchObject({ id, outcome: 'success' });
    expect(r!.attributes['http.response.status_code']).toBe(201);
  });

  it('durableFailOpen: true sends the handler response anyway', async () => {
    const m = await macronode();
    const run = await app(platform, { audit: m.engine, durable: true, durableFailOpen: true });
    m.plan.writeError = 'ENOSPC';
    const [res, body] = await timed(`${run.url}/d/orders`, post);
    expect(res.status).toBe(201);
    expect(JSON.parse(body)).toEqual({ id: 1 });
    const [r] = await records(m.engine);
    expect(r!.id).toBe(res.headers.get('audit-id'));
  });

  it('a client that leaves while its response is held: the record is the committed one (201), not an abort', async () => {
    const m = await macronode({ fsyncDelayMs: 200 });
    const run = await app(platform, { audit: m.engine, durable: true });
    handled = 0;
    const req = httpRequest(`${run.url}/d/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false });
    let answered = false;
    req.on('response', () => (answered = true));
    req.on('error', () => undefined);
    req.end('{}');
    while (handled === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    req.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const [r] = await records(m.engine);
    expect(r).toMatchObject({ outcome: 'success' });
    expect(r!.attributes['http.response.status_code']).toBe(201);
  });

  it('Micronode (no WAL): held writes are answered once the record is under a signed checkpoint', async () => {
    const e = createAudit({ signer: slowSigner(), origin: 'test.local/nest', env: {} });
    engines.push(e);
    await e.ready();
    const run = await app(platform, { audit: e, durable: true, level: 'requestResponse' });
    const [res, body, ms] = await timed(`${run.url}/d/orders`, post);
    expect(res.status).toBe(201);
    expect(ms).toBeGreaterThanOrEqual(145);
    expect(JSON.parse(body)).toEqual({ id: 1 });
    expect((e.checkpoint()?.size ?? 0) >= 1).toBe(true);
    const [r] = await records(e);
    expect(r).toMatchObject({ id: res.headers.get('audit-id'), outcome: 'success', body: { response: expect.objectContaining({ content: { id: 1 } }) } });
  });
});
