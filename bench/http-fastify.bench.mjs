// bench/http-fastify: req/s of a Fastify 5 app with @ron-audit/fastify (Micronode, and Macronode
// with WAL + export) against the same app without it, and the server CPU each request costs.
// Target (issue): audited Micronode ≥ 0.85× plain; Macronode within 5 points of Micronode.
// Not a test: it asserts nothing. Loopback only; every round is bounded.
//
//   node bench/http-fastify.bench.mjs [--rounds 5] [--round-seconds 3] [--connections 16] [--json]
import { audit } from '@ron-audit/fastify';
import Fastify from 'fastify';
import { engineOptions, httpBench } from './lib/http-bench.mjs';

await httpBench({
  name: 'fastify',
  targetRatio: 0.85,
  scriptUrl: import.meta.url,
  async build(mode, dir) {
    const app = Fastify({ logger: false });
    if (mode !== 'plain') await app.register(audit, { engine: engineOptions(mode, dir) });
    app.get('/orders/:id', async (req) => ({ id: req.params.id, status: 'shipped' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { port: app.server.address().port, engine: mode === 'plain' ? undefined : app.audit.engine, close: () => app.close() };
  },
});
