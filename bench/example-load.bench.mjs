// bench/example-load: the Fastify example app (the one a user starts, examples/fastify-app) under a
// closed-loop load, as a user would try it: server pinned to one core with taskset, autocannon on
// the other core with 50 and with 200 keep-alive connections. Three modes of the same app, fresh
// server per run, alternating rounds:
//   plain      AUDIT_ENABLED=false (the baseline)
//   micronode  AUDIT_WAL_ENABLED=false AUDIT_EXPORT_ENABLED=false (in memory)
//   macronode  the example's default: WAL + export under a temporary directory, default settings
// Per run it reports req/s, the share of 503s, the server's CPU µs per response (from
// /proc/<pid>/stat), and — for the audited modes — whether every 2xx has its record: the final
// checkpoint size the server prints on SIGTERM must cover the 2xx count (plus at most the requests
// autocannon abandoned in flight when it stopped), and the Macronode export
// must pass `ronctl audit verify` with that many records. Issue 9's targets: 503s ≤ 0.5 % of
// responses and Macronode's ratio within 0.05 of Micronode's. Loopback only; bounded in time.
//
//   node bench/example-load.bench.mjs [--rounds 2] [--seconds 8] [--connections 50,200] [--json]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alternate, machine, median, parseArgs, report, round } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = parseArgs();
const rounds = args.num('--rounds', 2);
const seconds = args.num('--seconds', 8);
const connectionsList = args.str('--connections', '50,200').split(',').map(Number);
const json = args.flag('--json');
const MODES = ['plain', 'micronode', 'macronode'];
const MODE_ENV = {
  plain: { AUDIT_ENABLED: 'false' },
  micronode: { AUDIT_WAL_ENABLED: 'false', AUDIT_EXPORT_ENABLED: 'false' },
  macronode: {},
};
const ronctl = join(root, 'packages/core/bin/ronctl.cjs');
const pin = (() => {
  try {
    execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** utime + stime of a process, µs (clock ticks of /proc/<pid>/stat; USER_HZ = 100 on Linux). */
function procCpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

let port = 3400;
async function start(mode) {
  const dir = mkdtempSync(join(tmpdir(), 'ron-bench-example-'));
  const env = { ...process.env, ...MODE_ENV[mode], PORT: String(port++), HOST: '127.0.0.1', AUDIT_WAL_DIR: join(dir, 'wal'), AUDIT_EXPORT_DIR: join(dir, 'export'), AUDIT_KEYSTORE_DIR: join(dir, 'keys'), LOG_LEVEL: '' };
  delete env.LOG_LEVEL;
  const argv = pin ? ['-c', '0', process.execPath, join(root, 'examples/fastify-app/src/server.js')] : [join(root, 'examples/fastify-app/src/server.js')];
  const child = spawn(pin ? 'taskset' : process.execPath, argv, { env, cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${mode} did not start: ${out}`)), 20_000);
    const check = () => /listening/.test(out) && (clearTimeout(timer), child.stdout.off('data', check), resolve());
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`${mode} exited with ${code}: ${out}`)));
  });
  const url = `http://127.0.0.1:${env.PORT}`;
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`${url}/readyz`).catch(() => ({ status: 0 }))).status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid,
    dir,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      const size = /final checkpoint size=(\d+)/.exec(out);
      return size ? Number(size[1]) : undefined;
    },
  };
}

function verifyExport(dir) {
  try {
    return execFileSync(process.execPath, [ronctl, 'audit', 'verify', '--export-dir', join(dir, 'export'), '--keystore-dir', join(dir, 'keys')], { encoding: 'utf8' }).trim();
  } catch (err) {
    return `FAIL: ${String(err.stdout ?? err.message).trim()}`;
  }
}

const runs = [];
for (const connections of connectionsList) {
  await alternate(rounds, MODES, async (mode) => {
    const svc = await start(mode);
    // Warm-up (JIT, connection setup): not counted; its 2xx are audited too, so count them.
    const warm = await autocannon({ url: `${svc.url}/products`, connections, duration: 1 });
    const cpu0 = procCpuMicros(svc.pid);
    const res = await autocannon({ url: `${svc.url}/products`, connections, duration: seconds });
    const cpu1 = procCpuMicros(svc.pid);
    const records = await svc.stop();
    const responses = res['2xx'] + res.non2xx;
    const shed = res.non2xx;
    const run = { mode, connections, reqPerS: responses / seconds, ok: res['2xx'], non2xx: res.non2xx, errors: res.errors + res.timeouts, shedShare: responses ? shed / responses : 0, cpuUsPerResponse: (cpu1 - cpu0) / Math.max(1, responses) };
    if (mode !== 'plain') {
      run.records = records;
      run.okTotal = warm["2xx"] + res["2xx"];
      // autocannon stops with up to `connections` requests in flight per run (warm-up and load): the
      // server still answers and records them, but they are not counted as 2xx.
      run.everyOkRecorded = records !== undefined && records >= run.okTotal && records - run.okTotal <= 2 * connections;
      if (mode === 'macronode') run.verify = verifyExport(svc.dir);
    }
    rmSync(svc.dir, { recursive: true, force: true });
    runs.push(run);
    if (!json) process.stderr.write(`  c=${connections} ${mode}: ${round(run.reqPerS)} req/s, ${(run.shedShare * 100).toFixed(2)} % 503, ${round(run.cpuUsPerResponse, 1)} CPU µs/response${run.records !== undefined ? `, records ${run.records} of ${run.okTotal} 2xx (${run.everyOkRecorded ? 'every 2xx recorded' : 'MISSING RECORDS'})` : ''}${run.verify ? `; ${run.verify.split('\n').at(-1)}` : ''}\n`);
  });
}

const byConn = connectionsList.map((connections) => {
  const med = (mode, key) => median(runs.filter((r) => r.connections === connections && r.mode === mode).map((r) => r[key]));
  const plain = med('plain', 'reqPerS');
  const micro = med('micronode', 'reqPerS') / plain;
  const macro = med('macronode', 'reqPerS') / plain;
  const macroShed = Math.max(...runs.filter((r) => r.connections === connections && r.mode === 'macronode').map((r) => r.shedShare));
  const microShed = Math.max(...runs.filter((r) => r.connections === connections && r.mode === 'micronode').map((r) => r.shedShare));
  return {
    connections,
    micronodeRatio: round(micro, 3),
    macronodeRatio: round(macro, 3),
    macronodeMaxShedPct: round(macroShed * 100, 2),
    micronodeMaxShedPct: round(microShed * 100, 2),
    cpuUsPerResponse: Object.fromEntries(MODES.map((m) => [m, round(med(m, 'cpuUsPerResponse'), 1)])),
    addedCpuUs: { micronode: round(med('micronode', 'cpuUsPerResponse') - med('plain', 'cpuUsPerResponse'), 1), macronode: round(med('macronode', 'cpuUsPerResponse') - med('plain', 'cpuUsPerResponse'), 1) },
    met: macroShed <= 0.005 && Math.abs(micro - macro) <= 0.05,
  };
});
const allRecorded = runs.every((r) => r.mode === 'plain' || r.everyOkRecorded);
const allVerified = runs.every((r) => r.mode !== 'macronode' || /^OK/m.test(r.verify ?? ''));
const result = {
  bench: 'example-load',
  machine: { ...machine(), pinned: pin },
  seconds,
  rounds,
  ratios: Object.fromEntries(byConn.flatMap((c) => [[`micronode_c${c.connections}`, c.micronodeRatio], [`macronode_c${c.connections}`, c.macronodeRatio]])),
  byConnections: byConn,
  everyOkRecorded: allRecorded,
  macronodeExportsVerified: allVerified,
  runs: runs.map((r) => ({ ...r, reqPerS: round(r.reqPerS), shedShare: round(r.shedShare, 5), cpuUsPerResponse: round(r.cpuUsPerResponse, 1), verify: r.verify?.split('\n').at(-1) })),
};
report(
  result,
  [
    `example-load (examples/fastify-app, server on core 0${pin ? '' : ' — NOT pinned: taskset missing'}, ${seconds} s per run, ${rounds} rounds, medians; ratio = req/s over plain in the same run):`,
    ...byConn.map((c) => `  c=${c.connections}: Micronode ${c.micronodeRatio}×, Macronode ${c.macronodeRatio}×, Macronode 503s ≤ ${c.macronodeMaxShedPct} % (Micronode ≤ ${c.micronodeMaxShedPct} %); CPU µs/response plain ${c.cpuUsPerResponse.plain}, +${c.addedCpuUs.micronode} Micronode, +${c.addedCpuUs.macronode} Macronode — ${c.met ? 'met' : 'NOT met'} (≤ 0.5 % 503s, Macronode within 0.05 of Micronode)`),
    `  every 2xx has its record: ${allRecorded ? 'yes' : 'NO'}; Macronode exports verify: ${allVerified ? 'yes' : 'NO'}`,
  ],
  json,
);
