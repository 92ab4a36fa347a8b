// bench/http-fastify: req/s of a Fastify 5 app with @ron-audit/fastify (Micronode, and Macronode
// with WAL + export) against the same app without it, and the server CPU each request costs.
// Target (issue): audited Micronode ≥ 0.85× plain; Macronode within 5 points of Micronode.
// Not a test: it asserts nothing. Loopback only; every round is bounded.
//
//   node bench/http-fastify.bench.mjs [--rounds 5] [--round-seconds 3] [--connections 16] [--json]
import { buildFastifyApp } from './lib/fastify-app.mjs';
import { httpBench } from './lib/http-bench.mjs';

await httpBench({ name: 'fastify', targetRatio: 0.85, scriptUrl: import.meta.url, build: buildFastifyApp });
