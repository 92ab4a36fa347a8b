#!/usr/bin/env node
// Drill 5 (runbook §7 restore, format §9 durable acks): crash under load, on every example.
//
// Each example service — Fastify, Express, Nest on platform-express and on platform-fastify —
// takes durable writes (POST /orders, answered only once the record is fsynced: each adapter's
// `durable` option, set on that route) and plain audited reads (answered before the group commit)
// at the same time; the drill kills it with SIGKILL mid-load, restarts it over the same WAL and
// export, and repeats. Then, on a copy of the crashed state whose WAL is damaged in its signed
// part, it checks that the restart refuses: /readyz 503 with AUDIT_WAL_CORRUPT, writes 503, and
// nothing appended. At the end it stops the service cleanly, verifies the export with
// `ronctl audit verify`, and looks up every Audit-Id a client received: every durable write must be
// in the log. Reads acknowledged before their fsync may be lost in a crash — that is what
// `durable` is for — and the drill counts how many were.
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { readExportRange } from '@ron-audit/core';
import { Checks, checksTable, cli, isMain, machine, num } from './lib/drill.mjs';
import { buildNest, drillToken, DRILL_JWT_SECRET, EXAMPLES, settledReadiness } from './lib/examples.mjs';
import { scratch } from './lib/paths.mjs';
import { scrape } from './lib/prom.mjs';
import { ronctl } from './lib/ronctl.mjs';
import { serviceEnv, startService } from './lib/service.mjs';
import { bars } from './lib/svg.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

export const meta = { name: 'crash', title: 'kill -9 under load on every example, restart, verify; durable acks hold; a refusing recovery appends nothing', maxSeconds: 480 };

const ALL = ['fastify', 'express', 'nest-express', 'nest-fastify'];
export const SIZES = {
  full: { cycles: 3, loadMs: [2500, 4000], writeRate: 600, readRate: 1500, examples: ALL },
  quick: { cycles: 1, loadMs: [1200, 1600], writeRate: 300, readRate: 600, examples: ALL },
};
const REFUSED_WRITES = 10;

/** Run autocannon on one request shape and collect the Audit-Id of every 2xx answer. */
function load(url, { rate, request, acked }) {
  const inst = autocannon({
    url,
    connections: 50,
    duration: 60,
    overallRate: rate,
    timeout: 5,
    requests: [
      {
        ...request,
        onResponse: (status, _body, _ctx, headers) => {
          const id = headers['audit-id'] ?? headers['Audit-Id'];
          if (status >= 200 && status < 300 && id) acked.add(id);
        },
      },
    ],
  });
  inst.on('error', () => undefined);
  const done = new Promise((resolve) => inst.on('done', resolve));
  return { stop: () => (inst.stop(), done) };
}

/** Names and SHA-256 of every file under the WAL and export directories of `dir`. */
function stateOf(dir) {
  const lines = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else lines.push(`${p.slice(dir.length)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(join(dir, 'wal'));
  walk(join(dir, 'export'));
  return lines.join('\n');
}

/** Record 1's seq changed in its WAL frame (CRC left wrong): damage before signed checkpoints, which recovery must refuse. */
function damageRecordOne(walDir) {
  const first = readdirSync(walDir).filter((n) => /^\d{20}\.wal$/.test(n)).sort()[0];
  if (first === undefined) throw new Error(`no WAL segment in ${walDir}`);
  const path = join(walDir, first);
  const buf = readFileSync(path);
  const at = buf.indexOf('"seq":1,');
  if (at < 0) throw new Error(`record 1 not found in ${path}`);
  buf[at + '"seq":'.length] = '7'.charCodeAt(0);
  writeFileSync(path, buf);
  return `${first}:${at}`;
}

const reasonText = (reasons) => reasons.map((x) => `${x.code}: ${x.message}`);

/**
 * After the crashes, on a copy of the state: damage record 1, restart, and expect a refusal that
 * changes nothing — not ready with AUDIT_WAL_CORRUPT, every write 503 + Retry-After without an
 * Audit-Id, no record appended, and the WAL and export byte for byte as before (a clean stop included).
 */
async function refusingRestart(work, name, ex, entry, writeRequest) {
  const dir = join(work.dir, `${name}-damaged`);
  for (const sub of ['wal', 'export', 'keys']) cpSync(join(work.dir, name, sub), join(dir, sub), { recursive: true });
  const damagedAt = damageRecordOne(join(dir, 'wal'));
  const before = stateOf(dir);
  const svc = await startService({ dir, entry, env: envOf(dir, name, ex) });
  try {
    const readyz = await settledReadiness(svc.url);
    const writes = [];
    for (let i = 0; i < REFUSED_WRITES; i++) {
      const res = await fetch(svc.url + writeRequest.path, { method: 'POST', headers: writeRequest.headers, body: writeRequest.body });
      await res.arrayBuffer();
      writes.push({ status: res.status, retryAfter: res.headers.get('retry-after'), auditId: res.headers.get('audit-id') });
    }
    const appended = (await scrape(svc.url)).sum('audit_appended_total');
    await svc.stop();
    return { damagedAt, readyz, writes, appended, unchanged: stateOf(dir) === before };
  } finally {
    await svc.crash();
  }
}

function envOf(dir, name, ex) {
  return serviceEnv(dir, { AUDIT_ORIGIN: `drill.ron-audit.local/crash-${name}`, JWT_SECRET: DRILL_JWT_SECRET, ...ex.env });
}

async function crashExample(work, name, size, entry, log) {
  const ex = EXAMPLES[name];
  const dir = join(work.dir, name);
  const env = envOf(dir, name, ex);
  const write = {
    method: 'POST',
    path: ex.write.path,
    headers: { authorization: `Bearer ${drillToken('drill', 'Crash Drill')}`, 'content-type': 'application/json' },
    body: JSON.stringify(ex.write.body),
  };
  const durableAcked = new Set();
  const plainAcked = new Set();
  const cycles = [];
  for (let c = 0; c < size.cycles; c++) {
    const svc = await startService({ dir, env, entry });
    try {
      // Express and Nest listen before recovery has finished (and answer 503 meanwhile): load starts once it has.
      const readyAt = await settledReadiness(svc.url);
      const sizeAtStart = (await scrape(svc.url)).sum('audit_appended_total');
      const before = { durable: durableAcked.size, plain: plainAcked.size };
      const writes = load(svc.url, { rate: size.writeRate, acked: durableAcked, request: write });
      const reads = load(svc.url, { rate: size.readRate, acked: plainAcked, request: { method: 'GET', path: ex.read } });
      const killAfter = size.loadMs[0] + Math.random() * (size.loadMs[1] - size.loadMs[0]);
      await new Promise((r) => setTimeout(r, killAfter));
      await svc.crash();
      await Promise.all([writes.stop(), reads.stop()]);
      const truncated = /truncated a torn unsigned tail of (\d+) bytes/.exec(svc.output() + svc.errors())?.[1];
      cycles.push({ cycle: c + 1, killAfterMs: Math.round(killAfter), durable: durableAcked.size - before.durable, plain: plainAcked.size - before.plain, readyAtStart: readyAt.state, ready: readyAt.ready, reasons: reasonText(readyAt.reasons), sizeAtStart, truncatedAtStart: truncated });
      log(`${name} cycle ${c + 1}: kill -9 after ${Math.round(killAfter)} ms; ${durableAcked.size - before.durable} durable writes and ${plainAcked.size - before.plain} reads acknowledged`);
    } finally {
      await svc.crash();
    }
  }
  const refusal = await refusingRestart(work, name, ex, entry, write);
  log(`${name} damaged copy: /readyz ${refusal.readyz.status} ${reasonText(refusal.readyz.reasons).join('; ').slice(0, 120)}; writes ${refusal.writes.map((w) => w.status).join(',')}; appended ${refusal.appended}`);

  // The last restart: recover, check, stop cleanly (final checkpoint), verify, look the ids up.
  const svc = await startService({ dir, env, entry });
  const readyz = await settledReadiness(svc.url);
  const recoveredTruncation = /truncated a torn unsigned tail of (\d+) bytes/.exec(svc.output() + svc.errors())?.[1];
  const stop = await svc.stop();
  const vkey = stop.verifierKey;
  const verify = await ronctl(['audit', 'verify', '--export-dir', join(dir, 'export'), '--wal-dir', join(dir, 'wal'), '--key', vkey]);
  const range = await readExportRange({ dir: join(dir, 'export'), keys: [vkey], from: 0, to: Date.now() + 60_000 });
  const ids = new Set(range.records.map((r) => JSON.parse(Buffer.from(r.bytes).toString('utf8')).id));
  const lostDurable = [...durableAcked].filter((id) => !ids.has(id));
  const lostPlain = [...plainAcked].filter((id) => !ids.has(id));
  return { name, label: ex.label, write: `POST ${ex.write.path}`, read: `GET ${ex.read}`, cycles, readyz, recoveredTruncation, verify, verifyOk: verify.code === 0 && range.report.ok, durable: durableAcked.size, lostDurable: lostDurable.length, plain: plainAcked.size, lostPlain: lostPlain.length, finalSize: range.report.size, refusal };
}

function checkExample(checks, r) {
  const statuses = [...r.cycles.slice(1).map((c) => c.readyAtStart), r.readyz.state];
  const firstReason = [...r.cycles.slice(1).flatMap((c) => c.reasons), ...reasonText(r.readyz.reasons)][0];
  checks.check(`${r.name}: every restart after kill -9 is ready (WAL recovered)`, r.cycles.slice(1).every((c) => c.ready) && r.readyz.ready, `statuses after recovery: ${statuses.join(', ')}${firstReason ? `; first reason: ${firstReason}` : ''}`);
  checks.check(`${r.name}: the export verifies after the crashes`, r.verifyOk, `exit ${r.verify.code}: ${r.verify.stdout.split('\n')[0]}`);
  checks.check(`${r.name}: durable-ack guarantee: every ${r.write} answered 2xx is in the log`, r.durable > 0 && r.lostDurable === 0, `${num(r.durable)} durable writes acknowledged, ${r.lostDurable} missing from the verified log of ${num(r.finalSize)} records`);
  checks.check(`${r.name}: the reads (${r.read}, not durable) were audited too; those lost to a crash are counted`, r.plain > 0, `${num(r.plain)} reads acknowledged, ${num(r.lostPlain)} not in the log (${((100 * r.lostPlain) / Math.max(1, r.plain)).toFixed(2)}%)`);
  const f = r.refusal;
  const corrupt = !f.readyz.ready && f.readyz.status === 503 && f.readyz.reasons.some((x) => x.code === 'AUDIT_WAL_CORRUPT');
  const refused = f.writes.length === REFUSED_WRITES && f.writes.every((w) => w.status === 503 && w.retryAfter !== null && w.auditId === null);
  checks.check(
    `${r.name}: a restart whose recovery refuses (WAL damaged after the crash) is not ready with the reason, refuses writes and appends nothing`,
    corrupt && refused && f.appended === 0 && f.unchanged,
    `/readyz ${f.readyz.status} ${f.readyz.reasons.map((x) => x.code).join(', ')}; ${f.writes.filter((w) => w.status === 503 && w.retryAfter !== null && w.auditId === null).length}/${f.writes.length} writes 503 + Retry-After without Audit-Id; audit_appended_total ${f.appended}; WAL and export ${f.unchanged ? 'unchanged' : '**changed**'}`,
  );
}

/** `--examples=express,nest-fastify` runs only those (no report is meant to come of that). */
function examplesOf(argv) {
  const arg = argv.find((a) => a.startsWith('--examples='));
  if (arg === undefined) return undefined;
  const names = arg.slice('--examples='.length).split(',');
  for (const n of names) if (!(n in EXAMPLES)) throw new Error(`--examples: unknown example ${JSON.stringify(n)} (expected ${Object.keys(EXAMPLES).join(', ')})`);
  return names;
}

export async function run({ quick = false, log = () => undefined, argv = [], examples = examplesOf(argv) } = {}) {
  const size = quick ? SIZES.quick : SIZES.full;
  const names = examples ?? size.examples;
  const checks = new Checks();
  const work = scratch('crash');
  const startedAt = new Date().toISOString();
  const nest = names.some((n) => EXAMPLES[n].nest) ? buildNest() : undefined;
  const results = [];
  try {
    for (const name of names) results.push(await crashExample(work, name, size, EXAMPLES[name].nest ? nest.entry : EXAMPLES[name].entry, log));
  } finally {
    nest?.remove();
    work.remove();
  }
  for (const r of results) checkExample(checks, r);
  const total = (k) => results.reduce((a, r) => a + r[k], 0);

  const svg = bars({
    title: `kill -9 × ${size.cycles} under load per example: acknowledged durable writes missing after recovery`,
    unit: '',
    items: results.flatMap((r) => [
      { label: `${r.name}: durable acked (${num(r.durable)})`, value: r.durable, color: '#2ca02c' },
      { label: `${r.name}: durable missing`, value: r.lostDurable, color: '#d62728' },
    ]),
  });
  const first = results[0];
  const markdown = `# Drill: crash under load

Runbook §7 (restore) and the durable-ack promise of docs/format.md §9, on every example service. Generated by
\`node drills/crash.mjs${quick ? ' --quick' : ''}\` (\`pnpm drill:crash${quick ? ' -- --quick' : ''}\`; size **${quick ? 'quick' : 'full'}**) on ${startedAt}; ${machine()}.

**Set-up.** Each example (Macronode: WAL + export on the local disk) takes, at the same time, durable writes —
\`POST /orders\` at ${size.writeRate}/s, a route whose adapter option \`durable\` holds the 201 until the record's group
commit is fsynced (Fastify: \`config: { audit: { durable: true } }\`; Express: \`auditor.route({ durable: true })\`; Nest:
\`@Audit({ durable: true })\`) — and plain audited reads at ${size.readRate}/s (answered before the group commit). The drill
collects the \`Audit-Id\` of every 2xx answer, kills the service with **SIGKILL** after ${size.loadMs[0] / 1000}–${size.loadMs[1] / 1000} s of load, restarts it
over the same directories (load starts once \`/readyz\` is past start-up), ${size.cycles} time(s). Then, on a copy of the crashed
state with record 1 damaged in its WAL frame (before signed checkpoints), it restarts the service and expects a refusal
that changes nothing. Last, it restarts over the real state, stops it cleanly, verifies the export
(\`ronctl audit verify --wal-dir\`) and looks every acknowledged id up in the verified log.

| example | kill -9 | durable writes acked | durable missing | reads acked | reads missing | restarts ready | export verifies | damaged WAL: \`/readyz\` | writes refused | appended |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${results
  .map(
    (r) =>
      `| ${r.label} | ${r.cycles.length} | ${num(r.durable)} | **${r.lostDurable}** | ${num(r.plain)} (${r.read}) | ${num(r.lostPlain)} | ${[...r.cycles.slice(1).map((c) => c.readyAtStart), r.readyz.state].join(', ')} | ${r.verifyOk ? 'yes' : '**no**'} | ${r.refusal.readyz.status} ${r.refusal.readyz.reasons.map((x) => x.code).join(', ')} | ${r.refusal.writes.filter((w) => w.status === 503).length}/${r.refusal.writes.length} (503 + Retry-After) | ${r.refusal.appended}, files ${r.refusal.unchanged ? 'unchanged' : '**changed**'} |`,
  )
  .join('\n')}

Per cycle:

| example | cycle | killed after | durable writes acked | reads acked | ready at start | torn tail truncated at start |
| --- | --- | --- | --- | --- | --- | --- |
${results.flatMap((r) => [...r.cycles.map((c) => `| ${r.name} | ${c.cycle} | ${c.killAfterMs} ms | ${num(c.durable)} | ${num(c.plain)} | ${c.readyAtStart} | ${c.truncatedAtStart ? `${c.truncatedAtStart} bytes` : '–'} |`), `| ${r.name} | final restart | – | – | – | ${r.readyz.state} | ${r.recoveredTruncation ? `${r.recoveredTruncation} bytes` : '–'} |`]).join('\n')}

- **Durable acks held:** ${num(total('durable'))} durable writes were answered 201 across the examples; **${total('lostDurable')}** of them are missing from the logs.
- Reads: ${num(total('plain'))} answered 200 with an \`Audit-Id\`; ${num(total('lostPlain'))} are not in the logs — they were answered before their
  record reached the disk, which is the documented trade of a non-durable route.
- A refusing recovery after a crash: the reason on \`/readyz\` (${first ? `e.g. \`${reasonText(first.refusal.readyz.reasons)[0]?.split(/; refusing|: write-ahead/)[0] ?? ''}\`` : ''}), every write 503 with
  \`Retry-After\` and no \`Audit-Id\`, \`audit_appended_total\` 0, and the WAL and export byte for byte as before, a clean
  stop included. Runbook §6.3 "WAL corrupt" says what the operator does next.
- A SIGKILL loses the process, not the page cache: this drill proves that nothing is acknowledged before its
  write reached the WAL, in order, and that recovery is clean; fsync against power loss is covered by the core's
  power-loss tests (packages/core), not here.
${first ? `- After the crashes each log verifies; for ${first.name} (${num(first.finalSize)} records):

\`\`\`
$ ${first.verify.command.replace(/--key \S+/, '--key "$VKEY"').replace(new RegExp(work.dir, 'g'), '$DRILL')}
${first.verify.stdout.trim()}
\`\`\`
` : ''}
![acknowledged ids after recovery](crash.svg)

## Expectations

${checksTable(checks)}
`;
  const byName = Object.fromEntries(results.map((r) => [r.name, { durable: r.durable, lostDurable: r.lostDurable, plain: r.plain, lostPlain: r.lostPlain, finalSize: r.finalSize, cycles: r.cycles, refusal: { readyz: r.refusal.readyz, writes: r.refusal.writes, appended: r.refusal.appended, unchanged: r.refusal.unchanged } }]));
  return {
    checks,
    markdown: markdown.split(work.dir).join('$DRILL'),
    pictures: { 'crash.svg': svg },
    figures: { examples: byName, durable: total('durable'), lostDurable: total('lostDurable'), plain: total('plain'), lostPlain: total('lostPlain') },
  };
}

if (isMain(import.meta.url)) await cli(meta, run);
