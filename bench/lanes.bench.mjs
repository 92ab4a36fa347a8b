// bench/lanes: do worker lanes (AUDIT_WORKERS) raise the audited/plain ratio? The Fastify app of
// bench/http-fastify, plain and audited, Micronode and Macronode, each in-thread (AUDIT_WORKERS=0)
// and with 1 and 2 lanes, in alternating rounds of the same run. Server CPU per request counts
// every thread of the server process (process.cpuUsage), lanes included.
// Not a test: it asserts nothing. Loopback only; every round is bounded.
//
//   node bench/lanes.bench.mjs [--rounds 5] [--round-seconds 3] [--connections 16] [--json]
import { buildFastifyApp } from './lib/fastify-app.mjs';
import { LANE_MODES, httpBench } from './lib/http-bench.mjs';

await httpBench({ name: 'lanes', targetRatio: 0.85, scriptUrl: import.meta.url, modes: LANE_MODES, build: buildFastifyApp });
