// bench/http-nest-express: req/s of a NestJS 11 app on @nestjs/platform-express with
// @ron-audit/nest's AuditModule (Micronode, and Macronode with WAL + export) against the same app
// without it, and the server CPU each request costs.
// Target (issue): audited Micronode ≥ 0.95× plain; Macronode within 5 points of Micronode.
// Not a test: it asserts nothing. Loopback only; every round is bounded.
//
//   node bench/http-nest-express.bench.mjs [--rounds 5] [--round-seconds 3] [--connections 16] [--json]
import { ExpressAdapter } from '@nestjs/platform-express';
import { httpBench } from './lib/http-bench.mjs';
import { startNest } from './lib/nest-app.mjs';

await httpBench({
  name: 'nest-express',
  targetRatio: 0.95,
  scriptUrl: import.meta.url,
  build: (mode, dir) => startNest(new ExpressAdapter(), mode, dir),
});
