// bench/pg-ship: records/s made durable in PostgreSQL by the shipper (AUDIT_PG_BATCH=64: one
// transaction per 64 records with the duplicate, chain and equivocation checks, synchronous_commit
// on), against raw multi-row INSERTs of the same rows, 64 per statement, into a plain table with
// the same columns and indexes (no triggers, no checks), measured in the same run in alternating rounds. Then the
// verifier: verifyPg over a time range covering the rows (every record read whole and checked:
// chain, canonical form, tree, signatures) against a raw SELECT of the same rows.
// Issue context: raw INSERTs measured ~30 000 rows/s on this kind of machine.
// Not a test: it asserts nothing.
//
//   node bench/pg-ship.bench.mjs [--records 20000] [--rounds 3] [--json]
// Uses RON_AUDIT_PG_URL (an owner URL) when set, else starts a throw-away server with
// scripts/pg-test-server.sh. Expects the packages built (pnpm build).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createAudit, generateKey, migratePg, verifyPg } from '@ron-audit/core';
import { alternate, fmt, machine, median, parseArgs, report, round, sampleEvent } from './lib/harness.mjs';

const args = parseArgs();
const N = args.num('--records', 20_000);
const rounds = args.num('--rounds', 3);
const json = args.flag('--json');
const BATCH = 64;
const SCRIPT = fileURLToPath(new URL('../scripts/pg-test-server.sh', import.meta.url));
// pg is an optional peer of @ron-audit/core (a dev dependency there): load that copy.
const { Client } = createRequire(fileURLToPath(new URL('../packages/core/package.json', import.meta.url)))('pg');

let url = process.env.RON_AUDIT_PG_URL;
let serverDir;
if (!url) {
  const out = execFileSync('bash', [SCRIPT, 'start'], { encoding: 'utf8' });
  url = /^RON_AUDIT_PG_URL=(.+)$/m.exec(out)[1];
  serverDir = /^RON_AUDIT_PG_DIR=(.+)$/m.exec(out)[1];
}
const schema = `bench_${Date.now().toString(36)}`;
await migratePg({ url, schema, writerRole: `${schema}_w`, readerRole: `${schema}_r` });
const writerUrl = (() => {
  const u = new URL(url);
  u.username = `${schema}_w`;
  return u.toString();
})();
const admin = new Client({ connectionString: url });
await admin.connect();
// The baseline table has the same columns and the same two indexes (primary key, time) as records.
await admin.query(`CREATE TABLE ${schema}.raw (log_id bigint, seq bigint, time timestamptz, hash bytea, bytes bytea, PRIMARY KEY (log_id, seq))`);
await admin.query(`CREATE INDEX ON ${schema}.raw (time, log_id)`);
const commit = (await admin.query('SHOW synchronous_commit')).rows[0].synchronous_commit;

const tmp = mkdtempSync(join(tmpdir(), 'pg-ship-bench-'));
const keystoreDir = join(tmp, 'keys');
await generateKey(keystoreDir, 'bench');
let vkey;

const lagOf = async (registry) => (await registry.getSingleMetric('audit_ship_lag_records').get()).values[0]?.value ?? 0;

/** One replica emits N records (WAL group commit of 512, so the WAL is not what is measured) and we time until all are in PostgreSQL. */
async function shipperRound(r) {
  const registry = new Registry();
  const audit = createAudit({ env: {}, registry, walEnabled: true, walDir: join(tmp, `wal-${r}`), walBatch: 512, keystoreDir, keyId: 'bench', origin: `bench.local/pg-ship/${r}`, pgUrl: writerUrl, pgSchema: schema, pgBatch: BATCH, queueDepth: 8192 });
  await audit.ready();
  vkey = audit.verifierKey();
  const t0 = performance.now();
  for (let i = 0; i < N; ) {
    for (let k = 0; k < 4096 && i < N; k++, i++) audit.emit(sampleEvent(i));
    await audit.flush();
  }
  const appendedAt = performance.now();
  while ((await lagOf(registry)) > 0) await new Promise((res) => setTimeout(res, 2));
  const s = (performance.now() - t0) / 1000;
  await audit.close();
  return { rate: N / s, walRate: N / ((appendedAt - t0) / 1000) };
}

/**
 * The shipper alone: a WAL of N records written beforehand (not timed), then an engine with
 * PostgreSQL opens it and catches up; timed from ready() (WAL recovery done) to lag 0, counting
 * the records shipped in that time.
 */
async function catchUpRound(r) {
  const walDir = join(tmp, `wal-c${r}`);
  const origin = `bench.local/pg-ship/c${r}`;
  const pre = createAudit({ env: {}, registry: new Registry(), walEnabled: true, walDir, walBatch: 512, keystoreDir, keyId: 'bench', origin, queueDepth: 8192 });
  await pre.ready();
  for (let i = 0; i < N; ) {
    for (let k = 0; k < 4096 && i < N; k++, i++) pre.emit(sampleEvent(i));
    await pre.flush();
  }
  await pre.close();
  const registry = new Registry();
  const audit = createAudit({ env: {}, registry, walEnabled: true, walDir, keystoreDir, keyId: 'bench', origin, pgUrl: writerUrl, pgSchema: schema, pgBatch: BATCH });
  await audit.ready();
  const t0 = performance.now();
  const shipped0 = (await registry.getSingleMetric('audit_shipped_total').get()).values[0]?.value ?? 0;
  while ((await lagOf(registry)) > 0) await new Promise((res) => setTimeout(res, 2));
  const s = (performance.now() - t0) / 1000;
  await audit.close();
  return { rate: (N - shipped0) / s };
}

/** The same rows (bytes, hash, time of round r's log) as raw multi-row INSERTs, 64 per transaction. */
let rawLogs = 0;
async function rawRound(r) {
  const target = 1000 + rawLogs++;
  const { rows } = await admin.query(`SELECT r.seq, r.time, r.hash, r.bytes FROM ${schema}.records r JOIN ${schema}.logs l USING (log_id) WHERE l.origin = $1 ORDER BY seq`, [`bench.local/pg-ship/${r}`]);
  const c = new Client({ connectionString: url });
  await c.connect();
  const t0 = performance.now();
  for (let i = 0; i < rows.length; i += BATCH) {
    const chunk = rows.slice(i, i + BATCH);
    const values = [];
    const params = [];
    for (const row of chunk) {
      const b = params.length;
      values.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5})`);
      params.push(target, row.seq, row.time, row.hash, row.bytes);
    }
    await c.query(`INSERT INTO ${schema}.raw (log_id, seq, time, hash, bytes) VALUES ${values.join(', ')}`, params);
  }
  const s = (performance.now() - t0) / 1000;
  await c.end();
  return { rate: rows.length / s };
}

const ship = [];
const wal = [];
const catchUp = [];
const raw = [];
// The live round creates the rows the raw round copies; the order rotates each round.
await shipperRound(-1).then((x) => void x);
await alternate(rounds, ['ship', 'catchup', 'raw'], async (side, r) => {
  if (side === 'ship') {
    const x = await shipperRound(r);
    ship.push(x.rate);
    wal.push(x.walRate);
  } else if (side === 'catchup') {
    catchUp.push((await catchUpRound(r)).rate);
  } else {
    raw.push((await rawRound(ship.length - 1)).rate);
  }
});

// Verifier: a time range covering one round's records (and the other rounds'), read whole and checked.
const { rows: span } = await admin.query(`SELECT min(time) AS a, max(time) AS b, count(*)::int AS n FROM ${schema}.records`);
const since = span[0].a.getTime();
const until = span[0].b.getTime();
const verifyRates = [];
const selectRates = [];
let verified = 0;
await alternate(rounds, ['verify', 'select'], async (side) => {
  const t0 = performance.now();
  if (side === 'verify') {
    const rep = await verifyPg({ url, schema, keys: [vkey], since, until, full: true });
    if (!rep.ok) throw new Error(`verifyPg failed: ${JSON.stringify(rep.failure)}`);
    verified = rep.verified;
    verifyRates.push(rep.verified / ((performance.now() - t0) / 1000));
  } else {
    let n = 0;
    let last = -1;
    // The same keyset pages of 5000 the verifier reads, per log.
    for (const { log_id } of (await admin.query(`SELECT DISTINCT log_id FROM ${schema}.records WHERE time BETWEEN $1 AND $2`, [new Date(since), new Date(until)])).rows) {
      last = -1;
      for (;;) {
        const page = await admin.query(`SELECT seq, hash, bytes FROM ${schema}.records WHERE log_id = $1 AND seq > $2 ORDER BY seq LIMIT 5000`, [log_id, last]);
        n += page.rows.length;
        if (page.rows.length < 5000) break;
        last = Number(page.rows.at(-1).seq);
      }
    }
    selectRates.push(n / ((performance.now() - t0) / 1000));
  }
});

await admin.end();
rmSync(tmp, { recursive: true, force: true });
if (serverDir) execFileSync('bash', [SCRIPT, 'stop', serverDir]);

const shipMed = median(ship);
const catchMed = median(catchUp);
const rawMed = median(raw);
const verMed = median(verifyRates);
const selMed = median(selectRates);
const result = {
  bench: 'pg-ship',
  machine: machine(),
  records_per_round: N,
  rounds,
  pg_batch: BATCH,
  synchronous_commit: commit,
  shipper_records_per_s: round(catchMed),
  live_end_to_end_records_per_s: round(shipMed),
  raw_insert_rows_per_s: round(rawMed),
  wal_append_records_per_s: round(median(wal)),
  verify_records_per_s: round(verMed),
  raw_select_rows_per_s: round(selMed),
  verified_records: verified,
  ratios: { shipper_vs_raw_insert: round(catchMed / rawMed, 3), live_vs_raw_insert: round(shipMed / rawMed, 3), verify_vs_raw_select: round(verMed / selMed, 3) },
};
report(
  result,
  [
    `pg-ship (${N} records per round, ${rounds} rounds, batch ${BATCH}, synchronous_commit=${commit}; ${machine().nproc} cores, ${machine().node})`,
    `  shipper alone (WAL → PostgreSQL): ${fmt(catchMed)} records/s`,
    `  live, emit → WAL → PostgreSQL:    ${fmt(shipMed)} records/s   (WAL append alone ${fmt(median(wal))} records/s, same process)`,
    `  raw multi-row INSERT, 64/txn:     ${fmt(rawMed)} rows/s`,
    `  ratio shipper / raw INSERT:       ${result.ratios.shipper_vs_raw_insert}   (live / raw: ${result.ratios.live_vs_raw_insert})`,
    `  verifyPg over a time range:       ${fmt(verMed)} records/s   (${verified} records, full checks)`,
    `  raw SELECT of the same rows:      ${fmt(selMed)} rows/s`,
    `  ratio verify / raw SELECT:        ${result.ratios.verify_vs_raw_select}`,
  ],
  json,
);
