// bench/healthz-saturation: does liveness stay cheap while the service is saturated? (issue 13
// item 7). Each example (Fastify, Express, Nest on platform-express and platform-fastify) is started
// in its default Macronode profile under a temporary directory, saturated by autocannon with 200
// connections on an audited route for --seconds, while a probe asks /healthz every 50 ms with a 2 s
// deadline (as a liveness probe would). Reports the probe's p50/p99/max and the load's 2xx and
// non-2xx (503 under saturation) counts. The baseline is the same probe against the idle service in
// the same run. Target: p99 ≤ 100 ms. Not a test: it asserts nothing; loopback only; bounded in time.
//
//   node bench/healthz-saturation.bench.mjs [--seconds 8] [--json]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, parseArgs, percentile, report, round } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = parseArgs();
const seconds = args.num('--seconds', 8);
const json = args.flag('--json');

const TARGETS = [
  { name: 'fastify', script: 'examples/fastify-app/src/server.js', path: '/products', env: {} },
  { name: 'express', script: 'examples/express-app/src/server.js', path: '/hello', env: {} },
  { name: 'nest-express', script: 'examples/nest-app/dist/main.js', path: '/items/1', env: { NEST_PLATFORM: 'express' } },
  { name: 'nest-fastify', script: 'examples/nest-app/dist/main.js', path: '/items/1', env: { NEST_PLATFORM: 'fastify' } },
];

async function start(t, port) {
  const dir = mkdtempSync(join(tmpdir(), 'ron-bench-healthz-'));
  const env = { ...process.env, ...t.env, PORT: String(port), HOST: '127.0.0.1', AUDIT_WAL_DIR: join(dir, 'wal'), AUDIT_EXPORT_DIR: join(dir, 'export'), AUDIT_KEYSTORE_DIR: join(dir, 'keys'), LOG_LEVEL: 'warn' };
  const child = spawn(process.execPath, [join(root, t.script)], { env, cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${t.name} did not start`)), 20_000);
    child.stdout.on('data', (d) => /listening/.test(String(d)) && (clearTimeout(timer), resolve()));
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`${url}/readyz`).catch(() => ({ status: 0 }))).status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop: () => (child.kill('SIGTERM'), new Promise((r) => child.on('exit', r))).then(() => rmSync(dir, { recursive: true, force: true })) };
}

async function probe(url, untilMs) {
  const lat = [];
  while (performance.now() < untilMs) {
    const t = performance.now();
    try {
      await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      lat.push(performance.now() - t);
    } catch {
      lat.push(2000);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { n: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99), max: Math.max(...lat) };
}

const results = [];
let port = 3300;
for (const t of TARGETS) {
  const svc = await start(t, port++);
  const idle = await probe(svc.url, performance.now() + 1500);
  const loadP = autocannon({ url: svc.url + t.path, connections: 200, duration: seconds });
  const busy = await probe(svc.url, performance.now() + seconds * 1000 - 200);
  const load = await loadP;
  await svc.stop();
  results.push({ name: t.name, idle, busy, reqs: load.requests.average, ok: load['2xx'], non2xx: load.non2xx });
}
const result = {
  bench: 'healthz-saturation',
  machine: machine(),
  seconds,
  targets: results.map((r) => ({ name: r.name, idleP99Ms: round(r.idle.p99, 1), busyP50Ms: round(r.busy.p50, 1), busyP99Ms: round(r.busy.p99, 1), busyMaxMs: round(r.busy.max, 1), probes: r.busy.n, loadReqPerS: round(r.reqs), ok2xx: r.ok, non2xx: r.non2xx, met: r.busy.p99 <= 100 })),
};
report(
  result,
  [
    `healthz-saturation (${seconds} s of autocannon -c 200 per example; /healthz every 50 ms; target p99 ≤ 100 ms):`,
    ...result.targets.map((r) => `  ${r.name.padEnd(13)} idle p99 ${r.idleP99Ms} ms; saturated p50 ${r.busyP50Ms}, p99 ${r.busyP99Ms}, max ${r.busyMaxMs} ms (${r.probes} probes) — ${r.met ? 'met' : 'NOT met'}; load ${r.loadReqPerS} req/s, ${r.ok2xx} 2xx, ${r.non2xx} non-2xx`),
  ],
  json,
);
