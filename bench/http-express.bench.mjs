// bench/http-express: req/s of an Express 5 app with @ron-audit/express (Micronode, and Macronode
// with WAL + export) against the same app without it, and the server CPU each request costs.
// Target (issue): audited Micronode ≥ 0.95× plain; Macronode within 5 points of Micronode.
// Not a test: it asserts nothing. Loopback only; every round is bounded.
//
//   node bench/http-express.bench.mjs [--rounds 5] [--round-seconds 3] [--connections 16] [--json]
import { once } from 'node:events';
import { audit } from '@ron-audit/express';
import express from 'express';
import { engineOptions, httpBench } from './lib/http-bench.mjs';

await httpBench({
  name: 'express',
  targetRatio: 0.95,
  scriptUrl: import.meta.url,
  async build(mode, dir) {
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
  },
});
