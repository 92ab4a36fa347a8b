// bench/wal-recovery: time to ready of a Macronode engine over a long WAL (format §9.5 bounded
// start-up), at two WAL lengths in one run: the short one is the baseline, so the ratio
// ready(long) / ready(short) says whether start-up grows with the WAL (1.0 = it does not).
// Each length is restarted --restarts times; the median is reported, with the CPU µs the process
// spent per restart. Default segments (16 MiB). Not a test: it asserts nothing. Writes only under
// a temporary directory, removed at the end.
//
//   node bench/wal-recovery.bench.mjs [--short 100000] [--long 1000000] [--restarts 3] [--json]
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAudit, generateKey } from '@ron-audit/core';
import { cpuMicros, fmt, machine, median, parseArgs, report, round, sampleEvent } from './lib/harness.mjs';

const args = parseArgs();
const SHORT = args.num('--short', 100_000);
const LONG = args.num('--long', 1_000_000);
const RESTARTS = args.num('--restarts', 3);
const json = args.flag('--json');

const dir = mkdtempSync(join(tmpdir(), 'ron-bench-wal-recovery-'));
const keystoreDir = join(dir, 'keys');
await generateKey(keystoreDir, 'k');
const opts = { walEnabled: true, walDir: join(dir, 'wal'), walBatch: 4096, keystoreDir, keyId: 'k', origin: 'bench.local/wal-recovery', env: {}, queueDepth: 65536 };

async function grow(to) {
  const audit = createAudit(opts);
  await audit.ready();
  let n = audit.health().log.size;
  while (n < to) {
    const burst = Math.min(8192, to - n);
    for (let i = 0; i < burst; i++) audit.emit(sampleEvent(n + i));
    n += burst;
    await audit.flush();
  }
  await audit.close();
}

async function readyTimes() {
  const ms = [];
  const cpu = [];
  for (let r = 0; r < RESTARTS; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const audit = createAudit(opts);
    await audit.ready();
    ms.push(performance.now() - t0);
    cpu.push(cpuMicros(c0));
    await audit.close();
  }
  return { ms: median(ms), cpuUs: median(cpu) };
}

const walBytes = () => readdirSync(opts.walDir).filter((f) => f.endsWith('.wal')).reduce((n, f) => n + statSync(join(opts.walDir, f)).size, 0);

await grow(SHORT);
const short = { records: SHORT, bytes: walBytes(), ...(await readyTimes()) };
await grow(LONG);
const long = { records: LONG, bytes: walBytes(), ...(await readyTimes()) };
rmSync(dir, { recursive: true, force: true });

const ratio = long.ms / short.ms;
const result = {
  bench: 'wal-recovery',
  machine: machine(),
  short: { records: short.records, walMiB: round(short.bytes / 2 ** 20, 1), readyMs: round(short.ms, 1), cpuMs: round(short.cpuUs / 1000, 1) },
  long: { records: long.records, walMiB: round(long.bytes / 2 ** 20, 1), readyMs: round(long.ms, 1), cpuMs: round(long.cpuUs / 1000, 1) },
  ratios: { shortOverLongReady: round(short.ms / long.ms, 3) },
  target: 'ready ≤ 5 s with a 1,000,000-record WAL',
};
report(
  result,
  [
    `wal-recovery (${RESTARTS} restarts each, median): ${fmt(SHORT)} records (${result.short.walMiB} MiB) ready in ${fmt(short.ms)} ms (${fmt(short.cpuUs / 1000)} CPU ms);`,
    `  ${fmt(LONG)} records (${result.long.walMiB} MiB) ready in ${fmt(long.ms)} ms (${fmt(long.cpuUs / 1000)} CPU ms); long/short ${ratio.toFixed(2)}× (1.0 = independent of the WAL's length)`,
    `  target: ${result.target} — ${long.ms <= 5000 ? 'met' : 'NOT met'}`,
  ],
  json,
);
