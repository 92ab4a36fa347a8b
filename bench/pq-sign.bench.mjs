// bench/pq-sign: what AUDIT_PQ_SIGN costs — an ML-DSA-44 signature (pure JavaScript) on every
// checkpoint besides the Ed25519 one. Records/s and CPU µs per record with it on and off, in
// Micronode (one checkpoint per AUDIT_BATCH_MAX = 512 records) and Macronode (WAL + export, one
// checkpoint per AUDIT_WAL_BATCH = 32 records), the four engines alternating round by round in
// one run. The added CPU per checkpoint is about the cost of one ML-DSA-44 signature.
// Not a test: it asserts nothing. Writes only under a temporary directory, removed at the end.
//
//   node bench/pq-sign.bench.mjs [--rounds 5] [--round-ms 1000] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAudit, generateKey, generatePqKey, DEFAULT_BATCH_MAX, DEFAULT_WAL_BATCH } from '@ron-audit/core';
import { alternate, cpuMicros, fmt, machine, median, parseArgs, report, round, sampleEvent } from './lib/harness.mjs';

const args = parseArgs();
const rounds = args.num('--rounds', 5);
const roundMs = args.num('--round-ms', 1000);
const json = args.flag('--json');
/** Records emitted per burst, each burst awaited as a whole. */
const CHUNK = 2048;

async function checkpointsOf(audit) {
  return (await audit.metrics.registry.getSingleMetric('audit_checkpoints_total').get()).values[0]?.value ?? 0;
}

async function measure(side, ms) {
  const { audit } = side;
  const cp0 = await checkpointsOf(audit);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    // emitDurable, not emit + flush: flush() would force an export publication per chunk, which
    // the export's own cadence (AUDIT_CHECKPOINT_EVERY) does not do.
    const acks = new Array(CHUNK);
    for (let k = 0; k < CHUNK; k++) acks[k] = audit.emitDurable(sampleEvent(side.seq++));
    await Promise.all(acks);
    n += CHUNK;
  }
  const s = (performance.now() - t0) / 1000;
  const cpu = cpuMicros(c0);
  side.rates.push(n / s);
  side.cpuPerRecord.push(cpu / n);
  side.cpuPerCheckpoint.push(cpu / Math.max(1, (await checkpointsOf(audit)) - cp0));
}

const dir = mkdtempSync(join(tmpdir(), 'ron-bench-pq-'));
const sides = [];
try {
  const keys = join(dir, 'keys');
  await generateKey(keys, 'bench');
  await generatePqKey(keys, 'bench');
  for (const profile of ['micronode', 'macronode']) {
    for (const pq of [false, true]) {
      const name = `${profile}-${pq ? 'pq' : 'ed25519'}`;
      const audit = createAudit({
        keystoreDir: keys,
        keyId: 'bench',
        origin: `bench.local/pq-sign/${name}`,
        pqSign: pq,
        queueDepth: 2 * CHUNK,
        ...(profile === 'macronode' ? { walEnabled: true, walDir: join(dir, name, 'wal'), exportEnabled: true, exportDir: join(dir, name, 'export') } : {}),
        env: {},
      });
      sides.push({ profile, pq, name, audit, seq: 0, rates: [], cpuPerRecord: [], cpuPerCheckpoint: [] });
      await audit.ready();
    }
  }
  for (const s of sides) await measure(s, 300);
  for (const s of sides) s.rates.length = s.cpuPerRecord.length = s.cpuPerCheckpoint.length = 0;
  await alternate(rounds, sides, (s) => measure(s, roundMs));

  const result = { bench: 'pq-sign', machine: machine(), rounds, round_ms: roundMs, profiles: [], ratios: {} };
  const human = [`${'profile'.padEnd(10)} ${'records/checkpoint'.padStart(18)}  ${'Ed25519 rec/s'.padStart(13)}  ${'+ML-DSA rec/s'.padStart(13)}  ratio  CPU µs/rec off → on  added CPU µs/checkpoint`];
  for (const profile of ['micronode', 'macronode']) {
    const off = sides.find((s) => s.profile === profile && !s.pq);
    const on = sides.find((s) => s.profile === profile && s.pq);
    const row = {
      profile,
      records_per_checkpoint: profile === 'micronode' ? DEFAULT_BATCH_MAX : DEFAULT_WAL_BATCH,
      off_records_per_s: Math.round(median(off.rates)),
      pq_records_per_s: Math.round(median(on.rates)),
      ratio_pq_off: round(median(on.rates.map((r, i) => r / off.rates[i])), 4),
      off_cpu_us_per_record: round(median(off.cpuPerRecord), 2),
      pq_cpu_us_per_record: round(median(on.cpuPerRecord), 2),
      added_cpu_us_per_record: round(median(on.cpuPerRecord.map((c, i) => c - off.cpuPerRecord[i])), 2),
      added_cpu_us_per_checkpoint: round(median(on.cpuPerCheckpoint.map((c, i) => c - off.cpuPerCheckpoint[i])), 0),
    };
    result.profiles.push(row);
    result.ratios[`pq/off ${profile}`] = row.ratio_pq_off;
    human.push(
      `${profile.padEnd(10)} ${String(row.records_per_checkpoint).padStart(18)}  ${fmt(row.off_records_per_s).padStart(13)}  ${fmt(row.pq_records_per_s).padStart(13)}  ${row.ratio_pq_off.toFixed(3)}  ${`${row.off_cpu_us_per_record} → ${row.pq_cpu_us_per_record} (+${row.added_cpu_us_per_record})`.padStart(19)}  ${fmt(row.added_cpu_us_per_checkpoint).padStart(23)}`,
    );
  }
  human.push(`(median of ${rounds} alternating rounds of ${roundMs} ms; Macronode = WAL + export in a temporary directory)`);
  report(result, human, json);
} finally {
  for (const s of sides) await s.audit.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
