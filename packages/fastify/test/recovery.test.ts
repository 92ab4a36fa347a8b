import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { heldRecovery, writtenWal, type WalFixture } from '../../core/test/support/recovery-fixture.js';
import { audit } from '../src/index.js';

/**
 * Ready before recovery (issue 13 item 8), the reference behaviour the Express and Nest adapters
 * now share: the plugin waits for engine.ready(), so the server does not listen while the WAL is
 * recovered; when recovery refuses, audited routes answer 503 and nothing is appended.
 */

let fixture: WalFixture | undefined;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  await fixture?.remove();
  fixture = app = undefined;
});

let orders = 0;

function build(f: WalFixture, fileOps: import('@ron-audit/core').FileOps): FastifyInstance {
  const a = Fastify();
  void a.register(audit, { engine: f.options({ fileOps }), readiness: true, durable: true });
  a.post('/orders', async (_req, reply) => {
    orders++;
    return reply.code(201).send({ ok: true });
  });
  return a;
}

const order = (url: string): Promise<Response> => fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sku":"A-1"}' });

describe('fastify: ready before recovery', () => {
  it('does not listen while the WAL is recovered; afterwards answers 201 and records the write after the recovered ones', async () => {
    fixture = await writtenWal(12, 'test.local/fastify-recovery');
    const held = heldRecovery(fixture.walDir);
    app = build(fixture, held.fileOps);
    let listening = false;
    const address = app.listen({ port: 0, host: '127.0.0.1' }).then((a) => ((listening = true), a));
    await held.reached;
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(listening).toBe(false);

    held.release();
    const url = await address;
    orders = 0;
    const ok = await order(url);
    expect(ok.status).toBe(201);
    const id = ok.headers.get('audit-id');
    expect(orders).toBe(1);
    const recs = await app.audit.engine.read();
    expect(recs).toHaveLength(13);
    expect(recs[12]?.record['id']).toBe(id);
  });

  it('recovery refusing (AUDIT_WAL_CORRUPT): audited routes 503 + Retry-After, /readyz names the reason, and nothing is appended', async () => {
    fixture = await writtenWal(12, 'test.local/fastify-recovery');
    await fixture.damage();
    const before = await fixture.state();
    const held = heldRecovery(fixture.walDir);
    app = build(fixture, held.fileOps);
    const address = app.listen({ port: 0, host: '127.0.0.1' });
    await held.reached;
    held.release();
    const url = await address;
    orders = 0;
    for (let i = 0; i < 3; i++) {
      const res = await order(url);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('audit-id')).toBeNull();
      expect(await res.json()).toMatchObject({ statusCode: 503, code: 'AUDIT_NOT_READY' });
    }
    expect(orders).toBe(0);
    const readyz = await fetch(`${url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(((await readyz.json()) as { reasons: { code: string }[] }).reasons.map((r) => r.code)).toEqual(['AUDIT_WAL_CORRUPT']);
    await app.close();
    app = undefined;
    expect(await fixture.state()).toBe(before);
  });
});
