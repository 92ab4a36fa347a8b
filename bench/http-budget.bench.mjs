// bench/http-budget: what a per-request CPU cost does to the audited/plain ratio, without any
// audit code. The Fastify app of bench/http-fastify, plain and with an onResponse hook that
// spins for 0 (the hook alone), 5, 10, 20 or 40 µs, in alternating rounds of one run. It calibrates the HTTP targets
// on this machine: the ratio a hook of N µs gets is the best any audit costing N µs per request
// can get here. Not a test: it asserts nothing. Loopback only; every round is bounded.
//
//   node bench/http-budget.bench.mjs [--rounds 5] [--round-seconds 3] [--connections 16] [--json]
import Fastify from 'fastify';
import { httpBench } from './lib/http-bench.mjs';

export const BUDGET_MODES = ['plain', 'spin-0', 'spin-5', 'spin-10', 'spin-20', 'spin-40'];

await httpBench({
  name: 'budget',
  targetRatio: 0.85,
  scriptUrl: import.meta.url,
  modes: BUDGET_MODES,
  async build(mode) {
    const app = Fastify({ logger: false });
    if (mode !== 'plain') {
      const micros = Number(mode.slice('spin-'.length));
      app.addHook('onResponse', async () => {
        const until = performance.now() + micros / 1000;
        while (performance.now() < until);
      });
    }
    app.get('/orders/:id', async (req) => ({ id: req.params.id, status: 'shipped' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { port: app.server.address().port, engine: undefined, close: () => app.close() };
  },
});
