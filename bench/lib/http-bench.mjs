// The HTTP overhead harness behind bench/http-*.bench.mjs. A scenario file names its framework and
// how to build its app plain or audited; this runs it twice over:
//
// - as the driver (no RON_BENCH_SERVE in the environment): forks one server child per mode —
//   plain, audited Micronode, audited Macronode (WAL + export in a temporary directory) — all on
//   127.0.0.1, warms each up, then runs autocannon against them in alternating rounds of a few
//   seconds, asking each child over IPC for its process.cpuUsage() before and after every round;
// - as a server child (RON_BENCH_SERVE=<mode>): builds the app, listens on an ephemeral loopback
//   port, and answers the driver's IPC questions until told to stop.
//
// Everything stays on loopback; every round is bounded in time; children exit when the driver
// stops them or when the IPC channel closes (the driver died).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { alternate, fmt, machine, median, parseArgs, report, round } from './harness.mjs';

export const MODES = ['plain', 'micronode', 'macronode'];
/** The audited route; what every app serves. */
export const PATH = '/orders/42';

/** Modes with worker lanes (bench/lanes.bench.mjs): `<profile>-w<N>` runs the profile with AUDIT_WORKERS=N. */
export const LANE_MODES = ['plain', 'micronode', 'micronode-w1', 'micronode-w2', 'macronode', 'macronode-w1', 'macronode-w2'];

/**
 * createAudit() options of an audited mode; AUDIT_* variables of the environment are ignored (env: {}).
 * For experiments, RON_BENCH_OPTS (a JSON object of createAudit options) is merged over the Macronode
 * options, e.g. `RON_BENCH_OPTS='{"exportEnabled":false}' bash bench/server-cpu.sh fastify macronode 4`;
 * run-all never sets it.
 */
export function engineOptions(mode, dir) {
  const [profile, lanes] = mode.split('-w');
  const base = { keystoreDir: join(dir, 'keys'), keyId: 'bench', origin: `bench.local/http/${mode}`, env: {}, ...(lanes ? { workers: Number(lanes) } : {}) };
  if (profile === 'micronode') return base;
  if (profile === 'disabled') return { ...base, enabled: false }; // AUDIT_ENABLED=false: the adapter registered, the engine off
  return { ...base, walEnabled: true, walDir: join(dir, mode, 'wal'), exportEnabled: true, exportDir: join(dir, mode, 'export'), ...JSON.parse(process.env.RON_BENCH_OPTS ?? '{}') };
}

/**
 * Entry point of a scenario file. `build(mode, dir)` resolves to
 * `{ port, engine?, close() }`: the listening app (engine: the audit engine, when audited).
 */
export async function httpBench({ name, targetRatio, build, scriptUrl, modes = MODES }) {
  const mode = process.env.RON_BENCH_SERVE;
  if (mode !== undefined) return serve(mode, build);
  return drive({ name, targetRatio, scriptUrl, modes });
}

async function serve(mode, build) {
  const dir = process.env.RON_BENCH_DIR;
  const app = await build(mode, dir);
  if (app.engine) await app.engine.ready();
  const counter = async (name) => (app.engine ? ((await app.engine.metrics.registry.getSingleMetric(name).get()).values[0]?.value ?? 0) : 0);
  const counts = async () => ({ appended: await counter('audit_appended_total'), checkpoints: await counter('audit_checkpoints_total') });
  process.on('message', async (msg) => {
    if (msg === 'stats') process.send({ cpu: process.cpuUsage(), ...(await counts()) });
    else if (msg === 'stop') {
      await app.close();
      process.send({ stopped: true, ...(await counts()) }, () => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ port: app.port });
}

function ask(child, msg) {
  return new Promise((resolve, reject) => {
    const onMessage = (m) => {
      child.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code) => reject(new Error(`server child (${child.spawnargs.at(-1)}) exited with ${code}`));
    child.once('message', onMessage);
    child.once('exit', onExit);
    if (msg !== undefined) child.send(msg);
  });
}

function load(url, seconds, connections) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds, pipelining: 1 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

async function drive({ name, targetRatio, scriptUrl, modes }) {
  const args = parseArgs();
  const rounds = args.num('--rounds', 5);
  const seconds = args.num('--round-seconds', 3);
  const connections = args.num('--connections', 16);
  const json = args.flag('--json');
  const dir = mkdtempSync(join(tmpdir(), `ron-bench-${name}-`));
  const { generateKey } = await import('@ron-audit/core');
  await generateKey(join(dir, 'keys'), 'bench');
  const servers = [];
  try {
    for (const mode of modes) {
      const child = fork(new URL(scriptUrl).pathname, [], { env: { ...process.env, RON_BENCH_SERVE: mode, RON_BENCH_DIR: dir }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      const { port } = await ask(child);
      servers.push({ mode, child, url: `http://127.0.0.1:${port}${PATH}`, rps: [], cpuPerReq: [], util: [], p99: [], non2xx: 0, errors: 0, requests: 0 });
    }
    for (const s of servers) await load(s.url, 1, connections);
    await alternate(rounds, servers, async (s) => {
      const before = await ask(s.child, 'stats');
      const res = await load(s.url, seconds, connections);
      const after = await ask(s.child, 'stats');
      const cpu = after.cpu.user + after.cpu.system - (before.cpu.user + before.cpu.system);
      const total = res.requests.total;
      // Only 2xx count as served: a 503 (audit queue full) is cheap and must not flatter a side.
      s.rps.push((total - res.non2xx) / res.duration);
      s.cpuPerReq.push(cpu / Math.max(1, total));
      s.util.push(cpu / 1e6 / res.duration);
      s.p99.push(res.latency.p99);
      s.non2xx += res.non2xx;
      s.errors += res.errors + res.timeouts;
      s.requests += total;
    });
    for (const s of servers) Object.assign(s, await ask(s.child, 'stop'));

    const plain = servers[0];
    const result = { bench: `http-${name}`, machine: machine(), rounds, round_seconds: seconds, connections, target_ratio: targetRatio, modes: [], ratios: {} };
    const human = [`${name}: GET ${PATH}, ${connections} connections, ${rounds} alternating rounds of ${seconds}s per mode, autocannon and server both on this machine`];
    human.push(`${'mode'.padEnd(10)} ${'req/s'.padStart(8)}  ratio  ${'server CPU µs/req'.padStart(17)}  ${'added'.padStart(6)}  server CPU  p99 ms  non-2xx  records  rec/checkpoint`);
    for (const s of servers) {
      const row = {
        mode: s.mode,
        requests_per_s: Math.round(median(s.rps)),
        ratio_to_plain: s === plain ? 1 : round(median(s.rps.map((r, i) => r / plain.rps[i])), 4),
        server_cpu_us_per_request: round(median(s.cpuPerReq), 1),
        added_cpu_us_per_request: s === plain ? 0 : round(median(s.cpuPerReq.map((c, i) => c - plain.cpuPerReq[i])), 1),
        server_cpu_utilisation: round(median(s.util), 2),
        p99_ms: median(s.p99),
        non_2xx: s.non2xx,
        errors: s.errors,
        requests: s.requests,
        records_appended: s.appended,
        records_per_checkpoint: s.checkpoints > 0 ? round(s.appended / s.checkpoints, 1) : null,
      };
      result.modes.push(row);
      if (s !== plain) result.ratios[`${s.mode}/plain`] = row.ratio_to_plain;
      human.push(
        `${s.mode.padEnd(10)} ${fmt(row.requests_per_s).padStart(8)}  ${row.ratio_to_plain.toFixed(3)}  ${String(row.server_cpu_us_per_request).padStart(17)}  ${(s === plain ? '' : `+${row.added_cpu_us_per_request}`).padStart(6)}  ${`${Math.round(row.server_cpu_utilisation * 100)}%`.padStart(10)}  ${String(row.p99_ms).padStart(6)}  ${String(row.non_2xx).padStart(7)}  ${fmt(row.records_appended).padStart(7)}  ${String(row.records_per_checkpoint ?? '').padStart(14)}`,
      );
    }
    const micro = result.ratios['micronode/plain'];
    const macro = result.ratios['macronode/plain'];
    if (micro !== undefined && macro !== undefined) {
      result.meets_target = micro >= targetRatio && micro - macro <= 0.05;
      human.push(`targets: Micronode ≥ ${targetRatio}× plain, Macronode within 0.05 of Micronode → ${result.meets_target ? 'met' : 'NOT met'} (Micronode ${micro}, Macronode ${macro})`);
    }
    // With worker lanes: each lane mode against the same profile in-thread, in the same rounds.
    for (const s of servers.filter((x) => x.mode.includes('-w'))) {
      const base = servers.find((x) => x.mode === s.mode.split('-w')[0]);
      const r = round(median(s.rps.map((v, i) => v / base.rps[i])), 4);
      result.ratios[`${s.mode}/${base.mode}`] = r;
      human.push(`lanes: ${s.mode} / ${base.mode} = ${r.toFixed(3)} (audited/plain ${result.ratios[`${base.mode}/plain`]} → ${result.ratios[`${s.mode}/plain`]})`);
    }
    report(result, human, json);
  } finally {
    for (const s of servers) if (s.child.exitCode === null) s.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
