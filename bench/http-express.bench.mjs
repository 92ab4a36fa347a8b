// bench/http-express: req/s of an Express 5 app with @ron-audit/express (Micronode, and Macronode
// with WAL + export) against the same app without it, and the server CPU each request costs.
// Target (issue): audited Micronode ≥ 0.95× plain; Macronode within 5 points of Micronode.
// Not a test: it asserts nothing. Loopback only; every round is bounded.
//
//   node bench/http-express.bench.mjs [--rounds 5] [--round-seconds 3] [--connections 16] [--json]
import { buildExpressApp } from './lib/express-app.mjs';
import { httpBench } from './lib/http-bench.mjs';

await httpBench({ name: 'express', targetRatio: 0.95, scriptUrl: import.meta.url, build: buildExpressApp });
