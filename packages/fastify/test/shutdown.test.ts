import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { audit } from '../src/index.js';
import { deferred, engine, engineOptions, records } from './helpers.js';

describe('aborted requests', () => {
  it('records outcome aborted when the client destroys the socket while the handler waits', async () => {
    const e = await engine();
    const f = Fastify();
    await f.register(audit, { audit: e });
    const entered = deferred();
    const gate = deferred();
    f.get('/slow/:n', async () => {
      entered.resolve();
      await gate.promise;
      return 'late';
    });
    await f.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = f.server.address() as AddressInfo;
      const req = httpRequest({ host: '127.0.0.1', port, path: '/slow/1?q=2', headers: { 'user-agent': 'aborter' } });
      req.on('error', () => undefined);
      req.end();
      await entered.promise;
      req.destroy();
      const deadline = Date.now() + 5000;
      let rs = await records(e);
      while (rs.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        rs = await records(e);
      }
      expect(rs).toHaveLength(1);
      expect(rs[0]!['outcome']).toBe('aborted');
      expect(rs[0]!.attributes).toMatchObject({ 'http.route': '/slow/:n', 'url.path': '/slow/1', 'user_agent.original': 'aborter' });
      gate.resolve();
      await new Promise((r) => setTimeout(r, 20));
      expect(await records(e)).toHaveLength(1); // the late reply does not add a second record
    } finally {
      gate.resolve();
      await f.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('closing under load loses no record: every 2xx Audit-Id is in the verified log', async () => {
    const f = Fastify();
    await f.register(audit, { engine: await engineOptions() });
    let started = 0;
    const someStarted = deferred();
    f.post('/work/:i', async (req) => {
      if (++started === 100) someStarted.resolve();
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 60));
      return { i: (req.params as { i: string }).i };
    });
    await f.listen({ port: 0, host: '127.0.0.1' });
    const { port } = f.server.address() as AddressInfo;
    const N = 200;
    const fired = Array.from({ length: N }, (_, i) =>
      fetch(`http://127.0.0.1:${port}/work/${i}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' }).then(
        async (res) => ({ status: res.status, id: res.headers.get('audit-id'), body: await res.text() }),
        () => ({ status: 0, id: null, body: '' }),
      ),
    );
    await someStarted.promise;
    await f.close();
    const results = await Promise.all(fired);
    const ok = results.filter((r) => r.status >= 200 && r.status < 300);
    expect(ok.length).toBeGreaterThanOrEqual(100);
    expect(f.audit.engine.health().status).toBe('closed');
    const ids = new Set((await records(f.audit.engine)).map((r) => r['id']));
    for (const r of ok) expect(ids.has(r.id)).toBe(true);
    expect(ids.size).toBeGreaterThanOrEqual(ok.length);
  });

  it('closes an engine it created, and only flushes one it was given', async () => {
    const given = await engine();
    const f = Fastify();
    await f.register(audit, { audit: given });
    f.get('/x', async () => 'ok');
    await f.inject('/x');
    await f.close();
    expect(given.health().status).toBe('ready');
    expect(await records(given)).toHaveLength(1);
    expect(typeof given.emit({ action: 'host.after', outcome: 'success' }).id).toBe('string'); // the given engine still accepts records
    await given.close();

    const g = Fastify();
    await g.register(audit, { engine: await engineOptions() });
    await g.ready();
    await g.close();
    expect(g.audit.engine.health().status).toBe('closed');
  });
});
