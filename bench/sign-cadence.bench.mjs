// bench/sign-cadence: how many Ed25519 checkpoint signatures the engine makes under an open-loop
// load, and what they cost per record — Micronode against Macronode (WAL + export) at several
// AUDIT_WAL_WINDOW_MS values, in the same run. The cost of one signature is measured here too
// (node:crypto over a checkpoint-sized note), so the µs-per-record column is signatures/s × that
// cost / records/s. Process CPU per record (everything: emit, append, WAL, export) is beside it.
// Target (issue 9): signatures ≤ 0.5 µs per record at 10,000 records/s.
// Not a test: it asserts nothing. Writes only under a temporary directory, removed at the end.
//
//   node bench/sign-cadence.bench.mjs [--rate 10000] [--seconds 2] [--windows 1,4,8] [--wal-batch 32] [--json]
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAudit, generateKey } from '@ron-audit/core';
import { fmt, machine, parseArgs, report, sampleEvent } from './lib/harness.mjs';

const args = parseArgs();
const rate = args.num('--rate', 10_000);
const seconds = args.num('--seconds', 2);
const windows = args.str('--windows', '1,4,8').split(',').map(Number);
const walBatch = args.num('--wal-batch', 32);
const json = args.flag('--json');
const TARGET_US = 0.5;
const TICK_MS = 2;

/** CPU µs of one Ed25519 signature over a checkpoint-sized note (best of 3 × 2,000). */
function signatureMicros() {
  const { privateKey } = generateKeyPairSync('ed25519');
  const note = Buffer.from('bench.local/sign-cadence\n123456\n' + 'A'.repeat(44) + '\n1764720000000\n');
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < 2000; i++) sign(null, note, privateKey);
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 2000);
  }
  return best;
}

async function counter(engine, name) {
  return (await engine.metrics.registry.getSingleMetric(name).get()).values[0]?.value ?? 0;
}

/** Emit `rate`/s for `seconds` in ticks (open loop), then flush. */
async function drive(engine) {
  const total = Math.round(rate * seconds);
  const t0 = performance.now();
  let n = 0;
  while (n < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    for (; n < due; n++) engine.emit(sampleEvent(n));
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await engine.flush();
  return n;
}

async function scenario(dir, name, options) {
  const keys = join(dir, 'keys');
  const engine = createAudit({ keystoreDir: keys, keyId: 'bench', origin: `bench.local/sign-cadence/${name}`, env: {}, ...options });
  await engine.ready();
  await drive(engine); // warm-up
  const s0 = await counter(engine, 'audit_checkpoints_total');
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const records = await drive(engine);
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const signatures = (await counter(engine, 'audit_checkpoints_total')) - s0;
  await engine.close();
  return { name, records, signatures, signaturesPerSecond: signatures / wall, recordsPerSignature: records / Math.max(1, signatures), processCpuUsPerRecord: (c.user + c.system) / records };
}

const dir = mkdtempSync(join(tmpdir(), 'ron-audit-sign-cadence-'));
try {
  await generateKey(join(dir, 'keys'), 'bench');
  const signUs = signatureMicros();
  const rows = [await scenario(dir, 'micronode', {})];
  for (const w of windows) rows.push(await scenario(dir, `macronode-w${w}`, { walEnabled: true, walBatch, walWindowMs: w, walDir: join(dir, `wal-${w}`), exportEnabled: true, exportDir: join(dir, `export-${w}`) }));
  for (const r of rows) r.signatureUsPerRecord = (r.signaturesPerSecond * signUs) / rate;
  const lines = [
    `sign-cadence: ${fmt(rate)} records/s offered for ${seconds} s (open loop, ${TICK_MS} ms ticks); one Ed25519 signature = ${signUs.toFixed(1)} CPU µs here`,
    'scenario          signatures/s  records/signature  signature µs/record  process CPU µs/record',
    ...rows.map((r) => `${r.name.padEnd(17)} ${r.signaturesPerSecond.toFixed(0).padStart(12)}  ${r.recordsPerSignature.toFixed(1).padStart(17)}  ${r.signatureUsPerRecord.toFixed(2).padStart(19)}  ${r.processCpuUsPerRecord.toFixed(1).padStart(21)}`),
    `target: signature ≤ ${TARGET_US} µs per record at 10,000 records/s (macronode-w<N>: AUDIT_WAL_WINDOW_MS=N; the default is 1; AUDIT_WAL_BATCH=${walBatch})`,
  ];
  report({ bench: 'sign-cadence', machine: machine(), rate, seconds, walBatch, signUs, target_us_per_record: TARGET_US, rows }, lines, json);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
