// bench/lanes-core: records/s through the engine in-process with worker lanes (AUDIT_WORKERS=1, 2)
// against the in-thread appender (AUDIT_WORKERS=0), measured in the same run in alternating rounds.
// Each round emits as a busy host would — up to 512 records per event-loop turn while the queue
// (depth 8192) has room, yielding between turns so the appender or the lanes run alongside — and
// ends with a flush (every record appended and under a signed checkpoint). Micronode. Process CPU
// per record counts every thread (lanes included).
// Not a test: it asserts nothing.
//
// Then an overload: Macronode (WAL + export), an open-loop emitter at --storm-rate (default
// 120 000/s, well past what one core appends) for --storm-seconds, in alternating rounds: how many
// records each setting appends per second while the host thread is also busy shedding the rest.
//
//   node bench/lanes-core.bench.mjs [--rounds 5] [--round-ms 1000] [--storm-rate 120000] [--storm-seconds 3] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAudit, generateKey } from '@ron-audit/core';
import { emitAt } from '../drills/lib/engine-load.mjs';
import { alternate, cpuMicros, fmt, machine, median, parseArgs, report, round, sampleEvent } from './lib/harness.mjs';

const args = parseArgs();
const rounds = args.num('--rounds', 5);
const roundMs = args.num('--round-ms', 1000);
const json = args.flag('--json');
const stormRate = args.num('--storm-rate', 120_000);
const stormSeconds = args.num('--storm-seconds', 3);
const CHUNK = 4096;
const WORKERS = [0, 1, 2];

const TURN = 512;
const turn = () => new Promise((r) => setImmediate(r));

async function auditRound(audit, ms, from) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = from;
  while (performance.now() - t0 < ms) {
    for (let k = 0; k < TURN && !audit.isSaturated(); k++) audit.emit(sampleEvent(n++));
    await turn();
  }
  await audit.flush();
  const s = (performance.now() - t0) / 1000;
  const count = n - from;
  return { rate: count / s, cpuPerRecord: cpuMicros(c0) / count, next: n };
}

const dir = mkdtempSync(join(tmpdir(), 'ron-bench-lanes-'));
try {
  await generateKey(dir, 'bench');
  const sides = [];
  for (const workers of WORKERS) {
    const audit = createAudit({ keystoreDir: dir, keyId: 'bench', origin: `bench.local/lanes-core/w${workers}`, queueDepth: 2 * CHUNK, workers, env: {} });
    await audit.ready();
    const side = { workers, audit, n: 0, runs: [] };
    side.n = (await auditRound(audit, 300, 0)).next; // warm-up: JIT, the WASM hash, the threads
    sides.push(side);
  }
  await alternate(rounds, sides, async (side) => {
    const r = await auditRound(side.audit, roundMs, side.n);
    side.n = r.next;
    side.runs.push(r);
  });
  for (const s of sides) await s.audit.close();
  const base = sides[0];
  const result = { bench: 'lanes-core', machine: machine(), rounds, round_ms: roundMs, modes: [], ratios: {} };
  const human = [`lanes-core: up to ${TURN} emits per event-loop turn while the queue has room, Micronode, ${rounds} alternating rounds of ${roundMs} ms`];
  human.push(`${'AUDIT_WORKERS'.padEnd(13)} ${'records/s'.padStart(10)}  ratio to 0  process CPU µs/record`);
  for (const s of sides) {
    const ratio = s === base ? 1 : round(median(s.runs.map((r, i) => r.rate / base.runs[i].rate)), 3);
    const row = { workers: s.workers, records_per_s: Math.round(median(s.runs.map((r) => r.rate))), ratio_to_in_thread: ratio, process_cpu_us_per_record: round(median(s.runs.map((r) => r.cpuPerRecord)), 1) };
    result.modes.push(row);
    if (s !== base) result.ratios[`w${s.workers}/w0`] = ratio;
    human.push(`${String(s.workers).padEnd(13)} ${fmt(row.records_per_s).padStart(10)}  ${ratio.toFixed(3).padStart(10)}  ${String(row.process_cpu_us_per_record).padStart(21)}`);
  }

  // Overload, Macronode.
  const storms = [];
  for (const workers of WORKERS) {
    const d = join(dir, `storm-w${workers}`);
    const audit = createAudit({ keystoreDir: dir, keyId: 'bench', origin: `bench.local/lanes-storm/w${workers}`, workers, walEnabled: true, walDir: join(d, 'wal'), exportEnabled: true, exportDir: join(d, 'export'), env: {} });
    await audit.ready();
    storms.push({ workers, audit, runs: [] });
  }
  const appended = async (audit) => (await audit.metrics.registry.getSingleMetric('audit_appended_total').get()).values[0]?.value ?? 0;
  await alternate(rounds, storms, async (side) => {
    await side.audit.flush();
    const before = await appended(side.audit);
    const t0 = performance.now();
    const r = await emitAt(side.audit, { rate: stormRate, seconds: stormSeconds });
    const s = (performance.now() - t0) / 1000;
    const n = (await appended(side.audit)) - before;
    side.runs.push({ rate: n / s, shed: r.rejected / Math.max(1, r.attempts) });
  });
  for (const s of storms) await s.audit.close();
  const b0 = storms[0];
  human.push('', `overload, Macronode (WAL + export): ${fmt(stormRate)} emits/s offered for ${stormSeconds} s, ${rounds} alternating rounds`);
  human.push(`${'AUDIT_WORKERS'.padEnd(13)} ${'appended/s'.padStart(10)}  ratio to 0  shed`);
  result.overload = { offered_per_s: stormRate, seconds: stormSeconds, modes: [] };
  for (const s of storms) {
    const ratio = s === b0 ? 1 : round(median(s.runs.map((r, i) => r.rate / b0.runs[i].rate)), 3);
    const row = { workers: s.workers, appended_per_s: Math.round(median(s.runs.map((r) => r.rate))), ratio_to_in_thread: ratio, shed: round(median(s.runs.map((r) => r.shed)), 3) };
    result.overload.modes.push(row);
    if (s !== b0) result.ratios[`overload w${s.workers}/w0`] = ratio;
    human.push(`${String(s.workers).padEnd(13)} ${fmt(row.appended_per_s).padStart(10)}  ${ratio.toFixed(3).padStart(10)}  ${(row.shed * 100).toFixed(1)}%`);
  }
  report(result, human, json);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
