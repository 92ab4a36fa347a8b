// bench/http-nest-fastify: req/s of a NestJS 11 app on @nestjs/platform-fastify with
// @ron-audit/nest's AuditModule (Micronode, and Macronode with WAL + export) against the same app
// without it, and the server CPU each request costs.
// Target (issue): audited Micronode ≥ 0.80× plain; Macronode within 5 points of Micronode.
// Not a test: it asserts nothing. Loopback only; every round is bounded.
//
//   node bench/http-nest-fastify.bench.mjs [--rounds 5] [--round-seconds 3] [--connections 16] [--json]
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { httpBench } from './lib/http-bench.mjs';
import { startNest } from './lib/nest-app.mjs';

await httpBench({
  name: 'nest-fastify',
  targetRatio: 0.8,
  scriptUrl: import.meta.url,
  build: (mode, dir) => startNest(new FastifyAdapter(), mode, dir),
});
