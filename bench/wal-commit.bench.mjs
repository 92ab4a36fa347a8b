// bench/wal-commit: durable records/s through the Macronode WAL group commit (engine with the WAL
// on, emitDurable in bursts so every batch fills) at AUDIT_WAL_BATCH 1, 8, 32, 128, against raw
// group commit of the same frame bytes at the same batch size — a FileHandle doing one write and
// one fdatasync per batch, appending to a growing file as the WAL does, and again into a
// preallocated file (no size change per batch, the cheapest fdatasync the disk offers). Sides
// alternate round by round in one run. Also reports p95 of the engine's wal_fsync_seconds
// histogram (read from its registry, as an alert would) and of the raw fdatasync calls.
// Targets (issue): WAL ≥ 0.8× raw group commit at the same batch size; p95 wal_fsync_seconds ≤ 2 ms.
// Not a test: it asserts nothing. Writes only under a temporary directory (--dir), removed at the end.
//
//   node bench/wal-commit.bench.mjs [--rounds 5] [--round-ms 1000] [--batches 1,8,32,128] [--dir /tmp] [--json]
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { createAudit, generateKey } from '@ron-audit/core';
import { alternate, fmt, histogramQuantile, machine, median, parseArgs, percentile, report, round, sampleEvent } from './lib/harness.mjs';

const args = parseArgs();
const rounds = args.num('--rounds', 5);
const roundMs = args.num('--round-ms', 1000);
const batches = args.str('--batches', '1,8,32,128').split(',').map(Number);
const json = args.flag('--json');
const TARGET_RATIO = 0.8;
const TARGET_P95_MS = 2;
/** Preallocated raw file size; the raw side wraps around inside it. */
const PREALLOC_BYTES = 16 * 2 ** 20;
/** Raw append files start anew past this size, as WAL segments do (64 MiB by default). */
const RAW_SEGMENT_BYTES = 64 * 2 ** 20;

/** The WAL's record frame (docs/format.md §9): len u32 BE ‖ type ‖ payload ‖ crc32(type ‖ payload) u32 BE. */
function frame(payload) {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out[4] = 0x02;
  out.set(payload, 5);
  out.writeUInt32BE(crc32(payload, crc32(Uint8Array.of(0x02))), 5 + payload.length);
  return out;
}

/** Real record bytes from a Micronode engine: the raw side writes exactly what the WAL would. */
async function sampleRecords(keys, n) {
  const audit = createAudit({ keystoreDir: keys, keyId: 'bench', origin: 'bench.local/wal-commit', env: {} });
  await audit.ready();
  for (let i = 0; i < n; i++) audit.emit(sampleEvent(i));
  await audit.flush();
  const { records } = audit.snapshot();
  await audit.close();
  return records;
}

/** Durable records/s through the engine: bursts of emitDurable, each burst awaited as a whole. */
async function walRound(side, ms) {
  const { audit, batch } = side;
  const burst = Math.max(8 * batch, 256);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    const acks = new Array(burst);
    for (let k = 0; k < burst; k++) acks[k] = audit.emitDurable(sampleEvent(side.seq++));
    const receipts = await Promise.all(acks);
    if (!receipts[burst - 1].durable) throw new Error('WAL acknowledged a record as not durable: the WAL is degraded');
    n += burst;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Raw group commit: the same frames, one write + one fdatasync per batch of `batch` frames. */
async function rawRound(side, ms) {
  const { batch, frames, fsyncs } = side;
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    const parts = new Array(batch);
    for (let k = 0; k < batch; k++) parts[k] = frames[(side.seq + k) % frames.length];
    side.seq += batch;
    const buf = Buffer.concat(parts);
    if (side.prealloc) {
      if (side.pos + buf.length > PREALLOC_BYTES) side.pos = 0;
    } else if (side.pos + buf.length > RAW_SEGMENT_BYTES) {
      await side.fh.close();
      side.fh = await open(join(side.dir, `raw-${batch}-${++side.segment}.bin`), 'w');
      side.pos = 0;
    }
    let off = 0;
    while (off < buf.length) off += (await side.fh.write(buf, off, buf.length - off, side.pos + off)).bytesWritten;
    side.pos += buf.length;
    const f0 = performance.now();
    await side.fh.datasync();
    fsyncs.push(performance.now() - f0);
    n += batch;
  }
  return n / ((performance.now() - t0) / 1000);
}

async function preallocated(path) {
  const fh = await open(path, 'w');
  const zeros = Buffer.alloc(2 ** 20);
  for (let off = 0; off < PREALLOC_BYTES; off += zeros.length) await fh.write(zeros, 0, zeros.length, off);
  await fh.sync();
  return fh;
}

const dir = mkdtempSync(join(args.str('--dir', tmpdir()), 'ron-bench-wal-'));
const engines = [];
const sides = [];
try {
  const keys = join(dir, 'keys');
  await generateKey(keys, 'bench');
  const frames = (await sampleRecords(keys, 512)).map(frame);
  for (const batch of batches) {
    const audit = createAudit({
      keystoreDir: keys,
      keyId: 'bench',
      origin: `bench.local/wal-commit/${batch}`,
      walEnabled: true,
      walDir: join(dir, `wal-${batch}`),
      walBatch: batch,
      queueDepth: 8192,
      env: {},
    });
    engines.push(audit);
    await audit.ready();
    sides.push(
      { kind: 'wal', batch, audit, seq: 0, rates: [] },
      { kind: 'raw', batch, frames, fsyncs: [], seq: 0, pos: 0, segment: 0, dir, fh: await open(join(dir, `raw-${batch}-0.bin`), 'w'), rates: [] },
      { kind: 'raw_prealloc', batch, frames, fsyncs: [], seq: 0, pos: 0, prealloc: true, fh: await preallocated(join(dir, `prealloc-${batch}.bin`)), rates: [] },
    );
  }
  const run = (s, ms) => (s.kind === 'wal' ? walRound(s, ms) : rawRound(s, ms));
  // Warm-up, then forget the warm-up's fsyncs so the p95 covers the measured load only.
  for (const s of sides) await run(s, 200);
  for (const s of sides) {
    if (s.kind === 'wal') s.audit.metrics.registry.getSingleMetric('wal_fsync_seconds').reset();
    else s.fsyncs.length = 0;
  }
  for (const batch of batches) {
    const group = sides.filter((s) => s.batch === batch);
    // Interleave batch sizes inside each round too, so a noisy minute does not land on one size.
    await alternate(rounds, group, async (s) => s.rates.push(await run(s, roundMs)));
  }
  const result = { bench: 'wal-commit', machine: machine(), rounds, round_ms: roundMs, target_ratio: TARGET_RATIO, target_p95_ms: TARGET_P95_MS, batches: [], ratios: {} };
  const human = [`${'batch'.padStart(5)}  ${'WAL rec/s'.padStart(10)}  ${'raw rec/s'.padStart(10)}  ${'prealloc'.padStart(10)}  wal/raw  wal/prealloc  p95 wal_fsync  p95 raw fdatasync`];
  for (const batch of batches) {
    const [wal, raw, pre] = ['wal', 'raw', 'raw_prealloc'].map((k) => sides.find((s) => s.kind === k && s.batch === batch));
    const values = (await wal.audit.metrics.registry.getSingleMetric('wal_fsync_seconds').get()).values;
    const row = {
      batch,
      wal_records_per_s: Math.round(median(wal.rates)),
      raw_records_per_s: Math.round(median(raw.rates)),
      raw_prealloc_records_per_s: Math.round(median(pre.rates)),
      ratio_wal_raw: round(median(wal.rates.map((r, i) => r / raw.rates[i])), 4),
      ratio_wal_prealloc: round(median(wal.rates.map((r, i) => r / pre.rates[i])), 4),
      p95_wal_fsync_ms: round(histogramQuantile(values, 0.95) * 1000, 3),
      p95_raw_fdatasync_ms: round(percentile(raw.fsyncs, 95), 3),
      p95_prealloc_fdatasync_ms: round(percentile(pre.fsyncs, 95), 3),
    };
    row.meets_target = row.ratio_wal_raw >= TARGET_RATIO && row.p95_wal_fsync_ms <= TARGET_P95_MS;
    result.batches.push(row);
    result.ratios[`wal/raw@${batch}`] = row.ratio_wal_raw;
    human.push(
      `${String(batch).padStart(5)}  ${fmt(row.wal_records_per_s).padStart(10)}  ${fmt(row.raw_records_per_s).padStart(10)}  ${fmt(row.raw_prealloc_records_per_s).padStart(10)}  ${row.ratio_wal_raw.toFixed(3).padStart(7)}  ${row.ratio_wal_prealloc.toFixed(3).padStart(12)}  ${`${row.p95_wal_fsync_ms} ms`.padStart(13)}  ${`${row.p95_raw_fdatasync_ms} ms`.padStart(17)}`,
    );
  }
  human.push(`targets: wal/raw ≥ ${TARGET_RATIO} at each batch size, p95 wal_fsync_seconds ≤ ${TARGET_P95_MS} ms (median of ${rounds} alternating rounds of ${roundMs} ms; ${dir.startsWith('/tmp') ? 'files under /tmp' : dir})`);
  report(result, human, json);
} finally {
  for (const a of engines) await a.close().catch(() => undefined);
  for (const s of sides) await s.fh?.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
