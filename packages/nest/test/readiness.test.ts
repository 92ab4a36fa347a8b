import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get } from '@nestjs/common';
import { createAudit, type AuditEngine } from '@ron-audit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditRuntime } from '../src/index.js';
import { calls, newEngine, once, PLATFORMS, records, releaseSlowRequests, resetCalls, start, TestController, until, type Running } from './harness.js';

@Controller()
class HostProbeController {
  @Get('readyz')
  ready(): { host: string } {
    return { host: 'ready' };
  }
}

/** An engine whose keystore lacks its key: not ready, reason AUDIT_KEY_UNAVAILABLE. */
async function keylessEngine(): Promise<AuditEngine> {
  const engine = createAudit({ keystoreDir: await mkdtemp(join(tmpdir(), 'ron-audit-nokey-')), keyId: 'k', origin: 'test.local/nokey', env: {} });
  await expect(engine.ready()).rejects.toThrow();
  return engine;
}

describe.each(PLATFORMS)('readiness on platform-%s', (platform) => {
  let run: Running | undefined;
  let engine: AuditEngine | undefined;
  afterEach(async () => {
    await run?.app.close();
    await engine?.close();
    run = engine = undefined;
  });

  it('adds /readyz when asked and the host has none: 200 while ready, never recorded', async () => {
    engine = await newEngine();
    run = await start(platform, { audit: engine, readiness: true });
    const res = await fetch(`${run.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, status: 'ready', reasons: [] });
    expect(res.headers.get('audit-id')).toBeNull();
    expect(await records(engine)).toHaveLength(0);
  });

  it('answers 503 with the reason while the signing key is missing, and refuses audited routes', async () => {
    engine = await keylessEngine();
    run = await start(platform, { audit: engine, readiness: '/ready', retryAfter: 9 });
    const res = await fetch(`${run.url}/ready`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { ready: boolean; status: string; reasons: { code: string; message: string }[] };
    expect(body).toMatchObject({ ready: false, status: 'not_ready' });
    expect(body.reasons.map((r) => r.code)).toContain('AUDIT_KEY_UNAVAILABLE');
    const refused = await fetch(`${run.url}/things/1`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('9');
    expect(((await refused.json()) as { code: string }).code).toBe('AUDIT_NOT_READY');
    expect((await fetch(`${run.url}/skip`)).status).toBe(200);
  });

  it("joins the host's own /readyz by default: the host answers while ready, the module answers 503 while not", async () => {
    engine = await newEngine();
    run = await start(platform, { audit: engine }, { controllers: [TestController, HostProbeController] });
    const ok = await fetch(`${run.url}/readyz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ host: 'ready' });
    await run.app.close();
    await engine.close();
    engine = await keylessEngine();
    run = await start(platform, { audit: engine }, { controllers: [TestController, HostProbeController] });
    const down = await fetch(`${run.url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ ready: false, status: 'not_ready' });
  });

  it('with readiness: false treats the host /readyz as an ordinary, audited route', async () => {
    engine = await newEngine();
    run = await start(platform, { audit: engine, readiness: false }, { controllers: [TestController, HostProbeController] });
    const res = await fetch(`${run.url}/readyz`);
    expect(res.status).toBe(200);
    expect((await records(engine)).map((r) => r.action)).toEqual(['GET /readyz']);
  });

  it('counts shutting down as not ready while in-flight requests drain', async () => {
    resetCalls();
    engine = await newEngine();
    run = await start(platform, { audit: engine, readiness: true });
    const runtime = run.app.get(AuditRuntime);
    const pending = once(`${run.url}/slow`);
    await until(() => calls.slow === 1);
    expect(runtime.readiness().ready).toBe(true);
    const closing = run.app.close();
    await until(() => !runtime.readiness().ready);
    expect(runtime.readiness()).toMatchObject({ ready: false, status: 'closing', reasons: [{ code: 'AUDIT_CLOSED' }] });
    releaseSlowRequests();
    const res = await pending;
    await closing;
    run = undefined;
    expect(res.status).toBe(200);
    expect((await records(engine)).map((r) => r.id)).toEqual([res.headers['audit-id']]);
  });
});
