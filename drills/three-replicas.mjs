#!/usr/bin/env node
// Drill: three replicas, one PostgreSQL (docs/scaling.md, format §14).
//
// Three copies of the example service (examples/fastify-app), each with its own WAL directory and
// its own AUDIT_ORIGIN, ship to one PostgreSQL (AUDIT_PG_URL as the writer role). Under durable
// write load (POST /orders: the 201 is held until the record is fsynced in the replica's WAL) the
// drill SIGKILLs one replica mid-load, restarts it over the same WAL, keeps the load on, then
// stops all three cleanly (each seals its log), verifies the database with
// `ronctl audit verify --pg`, and looks up every Audit-Id a client got back with a 2xx: each must
// be in PostgreSQL, and every log must verify and be sealed.
//
// PostgreSQL: RON_AUDIT_PG_URL (an owner URL) when set, else a throw-away server started with
// scripts/pg-test-server.sh. Expects the packages built (pnpm build).
//
//   node drills/three-replicas.mjs [--quick] [--no-report]
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { generateKey, migratePg } from '@ron-audit/core';
import { Checks, checksTable, cli, isMain, machine, num } from './lib/drill.mjs';
import { examplePath, repoRoot, scratch } from './lib/paths.mjs';
import { scrape } from './lib/prom.mjs';
import { ronctl } from './lib/ronctl.mjs';
import { serviceEnv, startService } from './lib/service.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
// pg is an optional peer of @ron-audit/core (a dev dependency there): load that copy.
const { Client } = createRequire(join(repoRoot, 'packages/core/package.json'))('pg');
const { signJwt } = await import(join(examplePath, 'src/jwt.js'));
const { DEMO_JWT_SECRET } = await import(join(examplePath, 'src/server-config.js'));

export const meta = { name: 'three-replicas', title: 'three replicas, one PostgreSQL: kill -9 one mid-load, restart, verify every Audit-Id', maxSeconds: 180 };

const SIZES = {
  full: { loadMs: 6000, killAtMs: 2500, downMs: 1000, rate: 300 },
  quick: { loadMs: 3000, killAtMs: 1200, downMs: 500, rate: 150 },
};
const PG_SCRIPT = join(repoRoot, 'scripts/pg-test-server.sh');

/** Durable writes at `rate`/s against one replica; every 2xx Audit-Id goes into `acked`. */
function load(url, token, rate, acked) {
  const inst = autocannon({
    url,
    connections: 20,
    duration: 120,
    overallRate: rate,
    timeout: 5,
    requests: [
      {
        method: 'POST',
        path: '/orders',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sku: 'A-1', qty: 1 }),
        onResponse: (status, _body, _ctx, headers) => {
          const id = headers['audit-id'];
          if (status >= 200 && status < 300 && id) acked.add(id);
        },
      },
    ],
  });
  inst.on('error', () => undefined);
  const done = new Promise((resolve) => inst.on('done', resolve));
  return { stop: () => (inst.stop(), done) };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function run({ quick = false, log = () => undefined } = {}) {
  const size = quick ? SIZES.quick : SIZES.full;
  const checks = new Checks();
  const work = scratch('three-replicas');
  const startedAt = new Date().toISOString();
  let pgUrl = process.env.RON_AUDIT_PG_URL;
  let pgDir;
  if (!pgUrl) {
    const out = execFileSync('bash', [PG_SCRIPT, 'start'], { encoding: 'utf8' });
    pgUrl = /^RON_AUDIT_PG_URL=(.+)$/m.exec(out)[1];
    pgDir = /^RON_AUDIT_PG_DIR=(.+)$/m.exec(out)[1];
  }
  const services = [];
  try {
    const schema = `drill_${Date.now().toString(36)}`;
    await migratePg({ url: pgUrl, schema, writerRole: `${schema}_w`, readerRole: `${schema}_r` });
    const writer = new URL(pgUrl);
    writer.username = `${schema}_w`;
    const reader = new URL(pgUrl);
    reader.username = `${schema}_r`;
    // One signing key for the fleet (each log binds its own origin into what it signs).
    const keys = join(work.dir, 'keys');
    await generateKey(keys, 'ron-audit');
    const boot = Date.now().toString(36);
    const envOf = (i) =>
      serviceEnv(join(work.dir, `r${i}`), {
        AUDIT_ORIGIN: `drill.ron-audit.local/fastify-app/r${i}-${boot}`,
        AUDIT_KEYSTORE_DIR: keys,
        AUDIT_EXPORT_ENABLED: 'false',
        AUDIT_PG_URL: writer.toString(),
        AUDIT_PG_SCHEMA: schema,
        LOG_LEVEL: 'warn',
      });
    const token = signJwt({ sub: 'drill', name: 'Replica Drill' }, DEMO_JWT_SECRET);
    const acked = [new Set(), new Set(), new Set()];
    for (let i = 0; i < 3; i++) services[i] = await startService({ dir: join(work.dir, `r${i}`), env: envOf(i) });
    log(`three replicas up: ${services.map((s) => s.url).join(', ')}`);
    let loads = services.map((s, i) => load(s.url, token, size.rate, acked[i]));

    await sleep(size.killAtMs);
    const beforeKill = acked[1].size;
    const lagAtKill = (await scrape(services[1].url)).sum('audit_ship_lag_records');
    await services[1].crash();
    await loads[1].stop();
    log(`replica 1 killed (SIGKILL) after ${size.killAtMs} ms with ${beforeKill} writes acknowledged, shipping lag ${lagAtKill}`);
    await sleep(size.downMs);
    services[1] = await startService({ dir: join(work.dir, 'r1'), env: envOf(1) });
    const restartedReady = await (await fetch(`${services[1].url}/readyz`)).json();
    loads[1] = load(services[1].url, token, size.rate, acked[1]);
    log(`replica 1 restarted over its WAL (${restartedReady.status}); load resumed`);
    await sleep(size.loadMs - size.killAtMs);
    await Promise.all(loads.map((l) => l.stop()));
    // Shipping is asynchronous: give it a moment to drain before the stop (which would wait anyway).
    let lags = [];
    for (const deadline = Date.now() + 5000; ; await sleep(50)) {
      lags = await Promise.all(services.map(async (s) => (await scrape(s.url)).sum('audit_ship_lag_records')));
      if (lags.every((l) => l === 0) || Date.now() > deadline) break;
    }
    const stops = [];
    for (const s of services) stops.push(await s.stop());
    const vkey = stops[0].verifierKey;

    const verify = await ronctl(['audit', 'verify', '--pg', reader.toString(), '--schema', schema, '--key', vkey, '--json']);
    let report = null;
    try {
      report = JSON.parse(verify.stdout);
    } catch {
      /* reported below */
    }
    const c = new Client({ connectionString: pgUrl });
    await c.connect();
    const { rows } = await c.query(`SELECT l.origin, convert_from(r.bytes, 'UTF8')::jsonb->>'id' AS id FROM ${schema}.records r JOIN ${schema}.logs l USING (log_id)`);
    await c.end();
    const stored = new Set(rows.map((r) => r.id));
    const missing = acked.map((set) => [...set].filter((id) => !stored.has(id)).length);
    const totalAcked = acked.reduce((n, s) => n + s.size, 0);
    const logs = report?.logs ?? [];

    checks.check('all three replicas took durable writes', acked.every((s) => s.size > 0), acked.map((s, i) => `r${i}: ${num(s.size)}`).join(', '));
    checks.check('the killed replica restarted over its WAL and was ready', restartedReady.status === 'ready' || restartedReady.status === 'degraded', `status after restart: ${restartedReady.status}`);
    checks.check('every Audit-Id answered 2xx is in PostgreSQL', totalAcked > 0 && missing.every((m) => m === 0), `${num(totalAcked)} acknowledged; missing per replica: ${missing.join(', ')}; ${num(stored.size)} records stored`);
    checks.check('ronctl audit verify --pg: every log verifies', verify.code === 0 && report?.ok === true, `exit ${verify.code}; ${report === null ? verify.stderr.trim().split('\n')[0] : report.failure ? `${report.failure.reason}: ${report.failure.message}` : `${num(report.verified)} records verified`}`);
    checks.check('three logs, each sealed by its clean stop', logs.length === 3 && logs.every((l) => l.status === 'sealed'), logs.map((l) => `${l.origin.split('/').pop()}: ${l.status} at ${l.size}`).join(', '));
    checks.check('shipping catches up within 5 s of the load stopping (lag 0)', lags.every((l) => l === 0), `audit_ship_lag_records before the stop: ${lags.join(', ')}`);

    const markdown = `# Drill: three replicas, one PostgreSQL

docs/scaling.md and docs/format.md §14. Generated by \`node drills/three-replicas.mjs${quick ? ' --quick' : ''}\` on ${startedAt}; ${machine()}.

**Set-up.** Three copies of the Fastify example, each with its own WAL directory and \`AUDIT_ORIGIN\`, one shared
signing key, shipping to one PostgreSQL as the writer role (\`AUDIT_PG_URL\`, INSERT and SELECT only). Durable writes
(\`POST /orders\`, answered 201 once fsynced in the replica's WAL) from autocannon (\`overallRate\` ${size.rate}) against each replica
for ${size.loadMs / 1000} s: ${num(totalAcked / (size.loadMs / 1000))} acknowledged writes/s over the three. Replica 1
is killed with **SIGKILL** after ${size.killAtMs / 1000} s (shipping lag at that moment: ${lagAtKill} records), restarted
${size.downMs / 1000} s later over the same WAL and origin, and put back under load. Then all three stop with SIGTERM
(each seals its log), \`ronctl audit verify --pg\` checks the database, and every acknowledged \`Audit-Id\` is looked up.

| replica | writes acknowledged (2xx) | missing from PostgreSQL | log in PostgreSQL |
| --- | --- | --- | --- |
${acked.map((s, i) => `| r${i}${i === 1 ? ' (killed, restarted)' : ''} | ${num(s.size)} | ${missing[i]} | ${(() => { const l = logs.find((x) => x.origin.endsWith(`/r${i}-${boot}`)); return l ? `${l.status}, ${num(l.size)} records` : 'none'; })()} |`).join('\n')}

\`\`\`
$ ronctl audit verify --pg "$READER_URL" --schema ${schema} --key "$VKEY"
${report ? `${report.ok ? 'OK' : 'FAIL'}: ${report.logs.length} logs, ${report.verified} records verified` : verify.stdout.trim()}
\`\`\`

## Expectations

${checksTable(checks)}
`;
    return { checks, markdown, figures: { acked: acked.map((s) => s.size), missing, stored: stored.size, logs: logs.map((l) => ({ status: l.status, size: l.size })), verifyCode: verify.code } };
  } finally {
    for (const s of services) if (s?.alive) await s.crash();
    work.remove();
    if (pgDir) execFileSync('bash', [PG_SCRIPT, 'stop', pgDir]);
  }
}

if (isMain(import.meta.url)) await cli(meta, run);
