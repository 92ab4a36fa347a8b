// The Fastify app of bench/http-fastify and bench/lanes: GET /orders/:id, plain or with
// @ron-audit/fastify on an engine for the mode (see engineOptions in http-bench.mjs).
import { audit } from '@ron-audit/fastify';
import Fastify from 'fastify';
import { engineOptions } from './http-bench.mjs';

export async function buildFastifyApp(mode, dir) {
  const app = Fastify({ logger: false });
  if (mode !== 'plain') await app.register(audit, { engine: engineOptions(mode, dir) });
  app.get('/orders/:id', async (req) => ({ id: req.params.id, status: 'shipped' }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: app.server.address().port, engine: mode === 'plain' ? undefined : app.audit.engine, close: () => app.close() };
}
