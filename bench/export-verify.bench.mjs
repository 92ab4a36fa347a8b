// bench/export-verify: records/s of a full export verification (`verifyExport`, what
// `ronctl audit verify --export-dir` runs), against just reading and decoding the same entry
// bundles in the same run. The export is built first with the real engine and ExportWriter.
// Also the same verification on one thread (workers: 0) and with bundle workers (one per core,
// at most 4), alternating, with the CPU µs per record of each (all threads) and their ratio.
// Target (issue 9): ≥ 250 000 records/s for the full verification. Not a test: it asserts nothing.
//
//   node bench/export-verify.bench.mjs [--records 200000] [--runs 3] [--json]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { createAudit, generateKey, ExportWriter, verifyExport } from '@ron-audit/core';
import { sampleEvent } from './lib/harness.mjs';

const args = process.argv.slice(2);
const arg = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const total = arg('--records', 200_000);
const runs = arg('--runs', 3);
const json = args.includes('--json');

const event = sampleEvent;

async function buildExport(dir, keys) {
  await generateKey(keys, 'bench');
  const audit = createAudit({ keystoreDir: keys, keyId: 'bench', origin: 'bench.local/export-verify', queueDepth: 8192, memoryMaxBytes: 1024 * 1024 * 1024 });
  await audit.ready();
  const checkpoints = [];
  for (let n = 0; n < total; ) {
    const chunk = Math.min(4096, total - n);
    for (let k = 0; k < chunk; k++) audit.emit(event(n++));
    await audit.flush();
    checkpoints.push(audit.checkpoint());
  }
  // Hand the records to the writer as the engine would: in order, each batch followed by its checkpoint.
  const { records } = audit.snapshot();
  const writer = await ExportWriter.open({ dir: join(dir, 'export'), every: 10_000, intervalMs: 3_600_000 });
  let handed = 0;
  for (const cp of checkpoints) {
    writer.addRecords(handed, records.slice(handed, cp.size));
    handed = cp.size;
    writer.offerCheckpoint({ note: cp.note, size: cp.size, time: cp.time });
  }
  await writer.close();
  const vkey = audit.verifierKey();
  await audit.close();
  return vkey;
}

/** Baseline: read every entry bundle and split it into records (no parsing, no hashing). */
function readAndDecode(exportDir) {
  const t0 = performance.now();
  let n = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (!e.name.endsWith('.p')) walk(p);
        continue;
      }
      const b = readFileSync(p);
      for (let off = 0; off < b.length; ) {
        const len = (b[off] << 8) | b[off + 1];
        off += 2 + len;
        n++;
      }
    }
  };
  walk(join(exportDir, 'tile', 'entries'));
  // Partial bundles (.p/) are skipped: at most 255 records of the tail.
  return { n, ms: performance.now() - t0 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), 'ron-bench-export-'));
try {
  const t0 = performance.now();
  const vkey = await buildExport(dir, join(dir, 'keys'));
  const buildMs = performance.now() - t0;
  const exportDir = join(dir, 'export');
  const base = [];
  const full = [];
  const recordsOnly = [];
  const fullCpu = [];
  const workers = Math.min(availableParallelism(), 4);
  const modes = { single: { workers: 0, ms: [], cpu: [] }, workers: { workers, ms: [], cpu: [] } };
  const timed = async (extra) => {
    const t = performance.now();
    const cpu0 = process.cpuUsage();
    const report = await verifyExport({ dir: exportDir, keys: [vkey], ...extra });
    const cpu = process.cpuUsage(cpu0);
    if (!report.ok || report.verified !== total) throw new Error(`verification failed: ${JSON.stringify(report.failure)}`);
    return { ms: performance.now() - t, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
  for (let r = 0; r < runs; r++) {
    // Alternate which goes first, so neither always runs on the warmer process.
    for (const m of r % 2 === 0 ? [modes.single, modes.workers] : [modes.workers, modes.single]) {
      const { ms, cpuMs } = await timed({ workers: m.workers });
      m.ms.push(ms);
      m.cpu.push(cpuMs);
    }
    base.push(readAndDecode(exportDir).ms);
    let t = performance.now();
    const cpu0 = process.cpuUsage();
    const report = await verifyExport({ dir: exportDir, keys: [vkey] });
    full.push(performance.now() - t);
    const cpu = process.cpuUsage(cpu0);
    fullCpu.push((cpu.user + cpu.system) / 1000);
    if (!report.ok || report.verified !== total) throw new Error(`verification failed: ${JSON.stringify(report.failure)}`);
    t = performance.now();
    await verifyExport({ dir: exportDir, keys: [vkey], full: false });
    recordsOnly.push(performance.now() - t);
  }
  const rate = (ms) => Math.round(total / (ms / 1000));
  const result = {
    bench: 'export-verify',
    records: total,
    build_seconds: +(buildMs / 1000).toFixed(2),
    baseline_read_decode_records_per_s: rate(median(base)),
    verify_full_records_per_s: rate(median(full)),
    // The fastest run: the least disturbed by other processes on a shared machine.
    verify_full_best_records_per_s: rate(Math.min(...full)),
    verify_records_only_records_per_s: rate(median(recordsOnly)),
    // Records per CPU-second of the full verification (all threads): what an idle core would give.
    verify_full_records_per_cpu_s: rate(median(fullCpu)),
    // The default picks workers only from 262,144 records up; these two fix it either way.
    single_thread_records_per_s: rate(median(modes.single.ms)),
    single_thread_cpu_us_per_record: +((median(modes.single.cpu) * 1000) / total).toFixed(2),
    workers,
    workers_records_per_s: rate(median(modes.workers.ms)),
    workers_cpu_us_per_record: +((median(modes.workers.cpu) * 1000) / total).toFixed(2),
    load_average_1m: +(await import('node:os')).loadavg()[0].toFixed(2),
    target_records_per_s: 250_000,
  };
  result.ratio_full_to_baseline = +(result.verify_full_records_per_s / result.baseline_read_decode_records_per_s).toFixed(4);
  // The figure bench/compare.mjs guards (measured against this run's own baseline).
  result.ratio_workers_to_single = +(result.workers_records_per_s / result.single_thread_records_per_s).toFixed(3);
  result.ratios = { 'verify/read': result.ratio_full_to_baseline };
  if (json) console.log(JSON.stringify(result));
  else {
    console.log(`export of ${total.toLocaleString()} records built in ${result.build_seconds}s`);
    console.log(`baseline read+decode bundles : ${result.baseline_read_decode_records_per_s.toLocaleString()} records/s`);
    console.log(`verifyExport (full)          : ${result.verify_full_records_per_s.toLocaleString()} records/s median, ${result.verify_full_best_records_per_s.toLocaleString()} best (target ≥ 250,000)`);
    console.log(`  workers: 0                 : ${result.single_thread_records_per_s.toLocaleString()} records/s, ${result.single_thread_cpu_us_per_record} CPU µs/record`);
    console.log(`  workers: ${workers}                 : ${result.workers_records_per_s.toLocaleString()} records/s, ${result.workers_cpu_us_per_record} CPU µs/record (${result.ratio_workers_to_single}× of one thread)`);
    console.log(`verifyExport (full: false)   : ${result.verify_records_only_records_per_s.toLocaleString()} records/s`);
    console.log(`verifyExport (full), per CPU : ${result.verify_full_records_per_cpu_s.toLocaleString()} records per CPU-second (load average ${result.load_average_1m})`);
    console.log(`ratio full/baseline          : ${result.ratio_full_to_baseline}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
