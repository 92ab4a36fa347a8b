// The Express app of bench/http-express: GET /orders/:id, plain or with @ron-audit/express on an
// engine for the mode (see engineOptions in http-bench.mjs).
import { once } from 'node:events';
import { audit } from '@ron-audit/express';
import express from 'express';
import { engineOptions } from './http-bench.mjs';

export async function buildExpressApp(mode, dir) {
  const app = express();
  const auditor = mode === 'plain' ? undefined : audit({ engine: engineOptions(mode, dir) });
  if (auditor) app.use(auditor);
  app.get('/orders/:id', (req, res) => res.json({ id: req.params.id, status: 'shipped' }));
  if (auditor) app.use(auditor.errorHandler());
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: server.address().port,
    engine: auditor?.engine,
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await auditor?.close();
    },
  };
}
