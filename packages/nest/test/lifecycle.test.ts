import { request as httpRequest } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { calls, moduleOptions, newEngine, once, PLATFORMS, records, releaseSlowRequests, resetCalls, start, until, verified, type Reply, type Running } from './harness.js';

describe.each(PLATFORMS)('lifecycle on platform-%s', (platform) => {
  let run: Running | undefined;
  afterEach(async () => {
    releaseSlowRequests();
    await run?.app.close();
    run = undefined;
  });

  it("records a request the client aborts while the handler waits as outcome 'aborted'", async () => {
    resetCalls();
    run = await start(platform, await moduleOptions());
    const engine = run.engine;
    const req = httpRequest(`${run.url}/slow`, { agent: false });
    req.on('error', () => undefined);
    req.end();
    await until(() => calls.slow === 1);
    req.destroy();
    await until(async () => (await records(engine)).length === 1);
    const [r] = await records(engine);
    expect(r).toMatchObject({ action: 'GET /slow', outcome: 'aborted' });
    expect(r?.attributes['http.route']).toBe('/slow');
  });

  it('drains on app.close(): every request answered 2xx while closing has its record', async () => {
    resetCalls();
    run = await start(platform, await moduleOptions());
    const { app, url, engine } = run;
    const n = 40;
    const inflight = Array.from({ length: n }, () => once(`${url}/slow`).catch(() => undefined));
    await until(() => calls.inflight === n);
    const closing = app.close();
    run = undefined;
    // late arrivals during the close: refused or answered, never answered without a record
    const late = Array.from({ length: 10 }, () => once(`${url}/things/9`).catch(() => undefined));
    await new Promise((r) => setTimeout(r, 20));
    releaseSlowRequests();
    const replies = (await Promise.all([...inflight, ...late])).filter((r): r is Reply => r !== undefined && r.status >= 200 && r.status < 300);
    await closing;
    expect(engine.health().status).toBe('closed');
    expect(replies.length).toBeGreaterThanOrEqual(n);
    const ids = new Set((await verified(engine)).map((r) => r.record['id']));
    for (const reply of replies) expect(ids.has(reply.headers['audit-id'])).toBe(true);
  });

  it('ends keep-alive on responses in flight at shutdown, so that the close does not wait for idle sockets', async () => {
    resetCalls();
    run = await start(platform, await moduleOptions());
    const { app, url } = run;
    run = undefined;
    // fetch keeps its connection alive; a warm-up request puts one in the pool
    expect((await fetch(`${url}/things/1`)).headers.get('connection')).not.toBe('close');
    const pending = fetch(`${url}/slow`);
    await until(() => calls.slow === 1);
    const started = Date.now();
    const closing = app.close();
    await new Promise((r) => setTimeout(r, 20));
    releaseSlowRequests();
    const res = await pending;
    await closing;
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('closes an engine it created, and leaves an engine it was given to its owner', async () => {
    const given = await newEngine();
    run = await start(platform, { audit: given });
    const created = await start(platform, await moduleOptions());
    await run.app.close();
    await created.app.close();
    run = undefined;
    expect(given.health().status).toBe('ready');
    expect(created.engine.health().status).toBe('closed');
    await given.close();
  });

  it('runs two applications on one registry, and rebuilds one ten times on it, without registration errors', async () => {
    const registry = new Registry();
    const a = await start(platform, { ...(await moduleOptions()), registry, metrics: true });
    const b = await start(platform, { ...(await moduleOptions()), registry });
    expect((await fetch(`${a.url}/things/1`)).status).toBe(200);
    expect((await fetch(`${b.url}/things/2`)).status).toBe(200);
    await a.engine.flush();
    await b.engine.flush();
    const text = await (await fetch(`${a.url}/metrics`)).text();
    expect(text).toMatch(/audit_appended_total 2/);
    await a.app.close();
    await b.app.close();
    for (let i = 0; i < 10; i++) {
      const again = await start(platform, { ...(await moduleOptions()), registry });
      expect((await fetch(`${again.url}/things/${i}`)).status).toBe(200);
      await again.app.close();
    }
    expect(await registry.getSingleMetric('audit_appended_total')?.get()).toMatchObject({ values: [{ value: 12 }] });
  });
});
