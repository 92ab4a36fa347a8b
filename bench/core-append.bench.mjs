// bench/core-append: records/s through the in-memory pipeline (prepare + redact → RFC 8785 bytes
// → BLAKE3 chain → RFC 6962 tree → one Ed25519-signed checkpoint per batch of 512), against plain
// JSON.stringify of the same events, measured in the same run in alternating rounds. Then a soak:
// one engine appending for --seconds with its default memory bound, the heap sampled (after a
// full GC) at intervals, to show the heap stays flat once the bound is reached.
// Target (issue): ≥ 300 000 records/s on one core; heap flat over a 30 s soak.
// Not a test: it asserts nothing.
//
//   node bench/core-append.bench.mjs [--rounds 5] [--round-ms 1000] [--seconds 10] [--json]
//   node bench/core-append.bench.mjs --rounds 0 --seconds 30         # heap-flatness soak only
//   node --cpu-prof bench/core-append.bench.mjs --audit-only          # profile the pipeline alone
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createAudit, generateKey, DEFAULT_MEMORY_MAX_BYTES } from '@ron-audit/core';
import { alternate, cpuMicros, fmt, machine, median, parseArgs, report, round, sampleEvent } from './lib/harness.mjs';

const args = parseArgs();
const rounds = args.num('--rounds', 5);
const roundMs = args.num('--round-ms', 1000);
const soakSeconds = args.num('--seconds', 10);
const auditOnly = args.flag('--audit-only');
const json = args.flag('--json');
const TARGET = 300_000;
/** Records emitted before each flush: 8 appender batches, within the queue depth below. */
const CHUNK = 4096;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

function baselineRound(ms) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  let sink = 0;
  while (performance.now() - t0 < ms) {
    for (let k = 0; k < CHUNK; k++, n++) sink += JSON.stringify({ ...sampleEvent(n), seq: n, prev: 'x'.repeat(64), v: 1 }).length;
  }
  const s = (performance.now() - t0) / 1000;
  return { rate: n / s, cpuPerRecord: cpuMicros(c0) / n, sink };
}

async function auditRound(audit, ms, from) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = from;
  while (performance.now() - t0 < ms) {
    for (let k = 0; k < CHUNK; k++) audit.emit(sampleEvent(n++));
    await audit.flush();
  }
  const s = (performance.now() - t0) / 1000;
  const count = n - from;
  return { rate: count / s, cpuPerRecord: cpuMicros(c0) / count, next: n };
}

function engine(dir, memoryMaxBytes) {
  return createAudit({ keystoreDir: dir, keyId: 'bench', origin: 'bench.local/core-append', queueDepth: 2 * CHUNK, memoryMaxBytes, env: {} });
}

/** One engine for `seconds`; heap (after a full GC) every tenth of the run. */
async function soak(dir, seconds) {
  const audit = engine(dir, DEFAULT_MEMORY_MAX_BYTES);
  await audit.ready();
  const samples = [];
  const every = (seconds * 1000) / 10;
  const t0 = performance.now();
  let next = every;
  let n = 0;
  const sample = (t) => {
    // Twice: ArrayBuffers are released by the weak callbacks of the first full GC.
    gc();
    gc();
    const m = process.memoryUsage();
    // Record bytes live in ArrayBuffers, outside the JS heap: count both.
    samples.push({ t: round(t, 1), heap_mb: round(m.heapUsed / 2 ** 20, 1), external_mb: round(m.external / 2 ** 20, 1), total_mb: round((m.heapUsed + m.external) / 2 ** 20, 1) });
  };
  sample(0);
  while (performance.now() - t0 < seconds * 1000) {
    for (let k = 0; k < CHUNK; k++) audit.emit(sampleEvent(n++));
    await audit.flush();
    if (performance.now() - t0 >= next) {
      sample((performance.now() - t0) / 1000);
      next += every;
    }
  }
  const rate = n / ((performance.now() - t0) / 1000);
  await audit.close();
  // Flat: once the memory bound has filled (first half), the second half grows by ≤ 10 % (+2 MB slack for GC timing).
  const half = samples.filter((s) => s.t > 0 && s.t <= seconds / 2).map((s) => s.total_mb);
  const late = samples.filter((s) => s.t > seconds / 2).map((s) => s.total_mb);
  const flat = half.length > 0 && late.length > 0 && Math.max(...late) <= Math.max(...half) * 1.1 + 2;
  return { seconds, records: n, records_per_s: Math.round(rate), memory_max_mb: DEFAULT_MEMORY_MAX_BYTES / 2 ** 20, heap: samples, flat };
}

const dir = mkdtempSync(join(tmpdir(), 'ron-bench-core-'));
try {
  await generateKey(dir, 'bench');
  const result = { bench: 'core-append', machine: machine(), target_records_per_s: TARGET, ratios: {} };
  const human = [];
  if (rounds > 0) {
    const audit = engine(dir, DEFAULT_MEMORY_MAX_BYTES);
    await audit.ready();
    const base = [];
    const aud = [];
    let n = 0;
    // Warm both sides up (JIT, the WASM hash), then alternate so drift hits both alike.
    if (!auditOnly) baselineRound(300);
    n = (await auditRound(audit, 300, n)).next;
    await alternate(rounds, auditOnly ? ['audit'] : ['baseline', 'audit'], async (side) => {
      if (side === 'baseline') base.push(baselineRound(roundMs));
      else {
        const r = await auditRound(audit, roundMs, n);
        n = r.next;
        aud.push(r);
      }
    });
    await audit.close();
    const pairs = aud.map((a, i) => (base[i] ? a.rate / base[i].rate : NaN));
    Object.assign(result, {
      rounds,
      round_ms: roundMs,
      baseline_records_per_s: Math.round(median(base.map((b) => b.rate))),
      audit_records_per_s: Math.round(median(aud.map((a) => a.rate))),
      baseline_cpu_us_per_record: round(median(base.map((b) => b.cpuPerRecord)), 2),
      audit_cpu_us_per_record: round(median(aud.map((a) => a.cpuPerRecord)), 2),
    });
    // Records per CPU-second: what one uncontended core would do, less sensitive to neighbours than wall time.
    result.audit_records_per_cpu_s = Math.round(1e6 / result.audit_cpu_us_per_record);
    result.meets_target = result.audit_records_per_s >= TARGET;
    if (!auditOnly) result.ratios['audit/json'] = round(median(pairs), 4);
    if (!auditOnly) human.push(`baseline JSON.stringify : ${fmt(result.baseline_records_per_s)} records/s (${result.baseline_cpu_us_per_record} CPU µs/record)`);
    human.push(
      `audit pipeline          : ${fmt(result.audit_records_per_s)} records/s (${result.audit_cpu_us_per_record} CPU µs/record = ${fmt(result.audit_records_per_cpu_s)} records per CPU-second; target ≥ ${fmt(TARGET)})`,
    );
    if (!auditOnly) human.push(`ratio audit/baseline    : ${result.ratios['audit/json']} (median of ${rounds} paired rounds)`);
  }
  if (soakSeconds > 0) {
    result.soak = await soak(dir, soakSeconds);
    human.push(
      `soak ${soakSeconds}s, one engine    : ${fmt(result.soak.records_per_s)} records/s, ${fmt(result.soak.records)} records, memory bound ${result.soak.memory_max_mb} MB`,
      `heap+external after GC : ${result.soak.heap.map((s) => `${s.t}s ${s.total_mb}`).join(' | ')} MB`,
      `heap flat               : ${result.soak.flat ? 'yes' : 'NO'}`,
    );
  }
  report(result, human, json);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
