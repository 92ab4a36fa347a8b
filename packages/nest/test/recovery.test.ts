import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { heldRecovery, writtenWal, type WalFixture } from '../../core/test/support/recovery-fixture.js';
import { calls, once, PLATFORMS, resetCalls, start, type Running } from './harness.js';

/**
 * Regression (issue 13 item 8): while the engine was still recovering its WAL, the module answered
 * audited routes 2xx with an Audit-Id, and when recovery then refused those records were dropped.
 * A real WAL, recovery held by the file layer, a real server on each platform.
 */

describe.each(PLATFORMS)('nest on platform-%s: ready before recovery', (platform) => {
  let fixture: WalFixture | undefined;
  let run: Running | undefined;
  afterEach(async () => {
    await run?.app.close();
    await fixture?.remove();
    fixture = run = undefined;
  });

  const order = (url: string) => once(`${url}/orders`, { method: 'POST', headers: { authorization: 'Bearer u-1', 'content-type': 'application/json' }, body: '{"sku":"A-1"}' });

  async function expectRefused(url: string): Promise<void> {
    const res = await order(url);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['audit-id']).toBeUndefined();
    expect(JSON.parse(res.body)).toMatchObject({ statusCode: 503, code: 'AUDIT_NOT_READY' });
  }

  it('while the WAL is recovered: audited routes 503 + Retry-After, /readyz 503 with the reason, no handler or guard runs; afterwards 201 and recorded', async () => {
    fixture = await writtenWal(12, `test.local/nest-${platform}-recovery`);
    const held = heldRecovery(fixture.walDir);
    run = await start(platform, { engine: fixture.options({ fileOps: held.fileOps }), registry: new Registry(), readiness: true, durable: true });
    await held.reached;
    resetCalls();
    await expectRefused(run.url);
    await expectRefused(run.url);
    expect(calls.orders).toBe(0);
    const readyz = await once(`${run.url}/readyz`);
    expect(readyz.status).toBe(503);
    const body = JSON.parse(readyz.body) as { ready: boolean; reasons: { code: string; message: string }[] };
    expect(body.ready).toBe(false);
    expect(body.reasons[0]).toMatchObject({ code: 'AUDIT_NOT_READY', message: expect.stringContaining('recovering the write-ahead log') as string });
    expect((await once(`${run.url}/skip`)).status).toBe(200);

    held.release();
    await run.engine.ready();
    expect((await once(`${run.url}/readyz`)).status).toBe(200);
    const ok = await order(run.url);
    expect(ok.status).toBe(201);
    const id = ok.headers['audit-id'];
    expect(typeof id).toBe('string');
    expect(calls.orders).toBe(1);
    await run.engine.flush();
    const recs = await run.engine.read();
    // The 12 recovered records, then the one write answered after recovery; none from before.
    expect(recs).toHaveLength(13);
    expect(recs[12]?.record['id']).toBe(id);
  });

  it('recovery refusing (AUDIT_WAL_CORRUPT): still 503 afterwards, /readyz names the reason, and nothing is appended', async () => {
    fixture = await writtenWal(12, `test.local/nest-${platform}-recovery`);
    await fixture.damage();
    const before = await fixture.state();
    const held = heldRecovery(fixture.walDir);
    run = await start(platform, { engine: fixture.options({ fileOps: held.fileOps }), registry: new Registry(), readiness: true, durable: true });
    await held.reached;
    resetCalls();
    await expectRefused(run.url);
    held.release();
    await expect(run.engine.ready()).rejects.toMatchObject({ code: 'AUDIT_WAL_CORRUPT' });
    for (let i = 0; i < 3; i++) await expectRefused(run.url);
    expect(calls.orders).toBe(0);
    const readyz = await once(`${run.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect((JSON.parse(readyz.body) as { reasons: { code: string }[] }).reasons.map((r) => r.code)).toEqual(['AUDIT_WAL_CORRUPT']);
    await run.app.close();
    run = undefined;
    expect(await fixture.state()).toBe(before);
  });
});
