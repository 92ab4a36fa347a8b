// The PostgreSQL shipper against a real server: several engines in one process acting as
// replicas, equivocation, append-only enforcement, sealing and the restart that follows it,
// catch-up from the WAL, and the memory bound.
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect } from 'vitest';
import { keystore, tempDir } from '../../../test/helpers.js';
import { loggedText, metricValue, recordingLogger, rejected, sleep } from '../../../test/support/engine.js';
import { freshDb, pgIt, type TestDb } from '../../../test/support/pg.js';
import { createAudit } from '../../create-audit.js';
import type { AuditEngine, CreateAuditOptions } from '../../api.js';
import { AuditError } from '../../errors.js';
import { metricsFor } from '../../metrics.js';
import { verifyPg } from '../../verify/pg.js';
import { nodeFileOps } from '../fs.js';
import { PgShipper } from './shipper.js';

const open: AuditEngine[] = [];
afterAll(async () => {
  await Promise.all(open.map((e) => e.close({ timeoutMs: 0 })));
});

interface Replica {
  readonly engine: AuditEngine;
  readonly registry: Registry;
  readonly logger: ReturnType<typeof recordingLogger>;
  readonly walDir: string;
}

async function replica(db: TestDb, root: string, keystoreDir: string, name: string, extra: CreateAuditOptions = {}): Promise<Replica> {
  const registry = new Registry();
  const logger = recordingLogger();
  const walDir = join(root, name, 'wal');
  const engine = createAudit({ env: {}, registry, logger, walEnabled: true, walDir, keystoreDir, keyId: 'k', origin: `test.local/${name}`, pgUrl: db.writerUrl, pgSchema: db.schema, ...extra });
  open.push(engine);
  await engine.ready();
  return { engine, registry, logger, walDir };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const connected = (r: Replica): boolean => (r.engine as unknown as { sinks: { shipper: { client?: unknown } } }).sinks.shipper.client !== undefined;

const lag = (r: Replica): Promise<number> => metricValue(r.registry, 'audit_ship_lag_records');

async function storedIds(db: TestDb, origin?: string): Promise<Set<string>> {
  const rows = await db.query<{ id: string }>(
    `SELECT convert_from(r.bytes, 'UTF8')::jsonb->>'id' AS id FROM ${db.schema}.records r JOIN ${db.schema}.logs l USING (log_id)${origin ? ' WHERE l.origin = $1' : ''}`,
    origin ? [origin] : [],
  );
  return new Set(rows.map((r) => r.id));
}

async function emitMany(engine: AuditEngine, n: number, tag: string): Promise<string[]> {
  const acks = [];
  for (let i = 0; i < n; i++) acks.push(engine.emitDurable({ action: `test.${tag}`, outcome: 'success', attributes: { i } }));
  return (await Promise.all(acks)).map((r) => r.id);
}

describe('PostgreSQL shipping', () => {
  pgIt('three engines in one process ship their logs to one database; verifyPg accounts for every record and each log is sealed', async () => {
    const db = await freshDb();
    const root = tempDir();
    const { keystoreDir } = await keystore(root);
    const replicas = await Promise.all(['a', 'b', 'c'].map((n) => replica(db, root, keystoreDir, n)));
    const ids = await Promise.all(replicas.map((r, i) => emitMany(r.engine, 200 + 50 * i, 'replica')));
    const vkey = replicas[0]!.engine.verifierKey();
    for (const r of replicas) await until('shipping', async () => (await lag(r)) === 0);
    for (const r of replicas) await r.engine.close();
    for (const [i, r] of replicas.entries()) {
      const stored = await storedIds(db, r.engine.origin);
      for (const id of ids[i]!) expect(stored.has(id), id).toBe(true);
      expect(stored.size).toBe(ids[i]!.length);
      expect(await metricValue(r.registry, 'audit_shipped_total')).toBe(ids[i]!.length);
      expect(await metricValue(r.registry, 'audit_equivocation_total')).toBe(0);
    }
    const report = await verifyPg({ url: db.ownerUrl, schema: db.schema, keys: [vkey] });
    expect(report.failure).toBeNull();
    expect(report.ok).toBe(true);
    expect(report.logs.map((l) => [l.origin, l.status, l.size, l.verified]).sort()).toEqual([
      ['test.local/a', 'sealed', 200, 200],
      ['test.local/b', 'sealed', 250, 250],
      ['test.local/c', 'sealed', 300, 300],
    ]);
    expect(report.verified).toBe(750);
  });

  pgIt('shipping is idempotent and resumes from the database high-water mark: a WAL-only log enabled for PostgreSQL later is caught up from the WAL', async () => {
    const db = await freshDb();
    const root = tempDir();
    const { keystoreDir } = await keystore(root);
    const walDir = join(root, 'late', 'wal');
    const walOnly = createAudit({ env: {}, registry: new Registry(), walEnabled: true, walDir, keystoreDir, keyId: 'k', origin: 'test.local/late', walBatch: 8 });
    await walOnly.ready();
    const before = await emitMany(walOnly, 700, 'before');
    await walOnly.close();
    const r = await replica(db, root, keystoreDir, 'late', { pgBatch: 50 });
    expect(r.walDir).toBe(walDir);
    await until('catch-up from the WAL', async () => (await lag(r)) === 0);
    const after = await emitMany(r.engine, 30, 'after');
    await until('shipping', async () => (await lag(r)) === 0);
    await r.engine.close();
    const stored = await storedIds(db);
    for (const id of [...before, ...after]) expect(stored.has(id)).toBe(true);
    expect(stored.size).toBe(730);
    // The WAL's checkpoints came along with the records they cover.
    const cps = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${db.schema}.checkpoints`);
    expect(Number(cps[0]!.n)).toBeGreaterThanOrEqual(2);
    expect((await verifyPg({ url: db.ownerUrl, schema: db.schema, keys: [r.engine.verifierKey()] })).ok).toBe(true);
  });

  pgIt('equivocation: two engines writing one origin are caught, alarmed (metric, log, typed reason) and nothing is overwritten', async () => {
    const db = await freshDb();
    const root = tempDir();
    const { keystoreDir } = await keystore(root);
    const a = await replica(db, root, keystoreDir, 'a', { origin: 'test.local/shared' });
    const b = await replica(db, root, keystoreDir, 'b', { origin: 'test.local/shared' });
    // Both connected while the database is empty, so b's conflict shows on insert, not at connect.
    await until('both connected', () => connected(a) && connected(b));
    await emitMany(a.engine, 40, 'from-a');
    await until('a ships', async () => (await lag(a)) === 0);
    const before = await db.query<{ seq: string; hash: Buffer }>(`SELECT seq, hash FROM ${db.schema}.records ORDER BY seq`);
    await emitMany(b.engine, 10, 'from-b');
    await until('the alarm', async () => (await metricValue(b.registry, 'audit_equivocation_total')) === 1);
    const h = b.engine.health();
    expect(h.ready).toBe(true);
    expect(h.status).toBe('degraded');
    expect(h.reasons.map((x) => x.code)).toContain('AUDIT_EQUIVOCATION');
    expect(await metricValue(b.registry, 'audit_degraded', { sink: 'pg' })).toBe(1);
    expect(loggedText(b.logger.lines)).toMatch(/"audit\.equivocation":1/);
    expect(loggedText(b.logger.lines)).toMatch(/another record at seq 0 of log test\.local\/shared/);
    // b keeps serving from its WAL; the database still holds exactly a's records.
    expect((await b.engine.emitDurable({ action: 'after.alarm', outcome: 'success' })).durable).toBe(true);
    const after = await db.query<{ seq: string; hash: Buffer }>(`SELECT seq, hash FROM ${db.schema}.records ORDER BY seq`);
    expect(after).toEqual(before);
    expect((await verifyPg({ url: db.ownerUrl, schema: db.schema, keys: [a.engine.verifierKey()], staleAfterMs: 60_000 })).logs[0]?.failure).toBeNull();

    // A third writer of the same origin that starts later, behind what the database holds: refused at connect.
    const c = await replica(db, root, keystoreDir, 'c', { origin: 'test.local/shared' });
    await until('the alarm', async () => (await metricValue(c.registry, 'audit_equivocation_total')) === 1);
    expect(c.engine.health().reasons.find((x) => x.code === 'AUDIT_EQUIVOCATION')?.message).toMatch(/holds 40 records of log test\.local\/shared but this replica's WAL has only 0/);
  });

  pgIt('the database is append-only: the writer role may not UPDATE, DELETE or TRUNCATE, and triggers refuse them even to the owner', async () => {
    const db = await freshDb();
    const root = tempDir();
    const { keystoreDir } = await keystore(root);
    const r = await replica(db, root, keystoreDir, 'ao');
    await emitMany(r.engine, 5, 'x');
    await r.engine.close();
    const { connectPg } = await import('./driver.js');
    for (const [who, url, pattern] of [
      ['writer', db.writerUrl, /permission denied/],
      ['owner', db.ownerUrl, /append-only/],
    ] as const) {
      const c = await connectPg(url);
      try {
        for (const sql of [
          `UPDATE ${db.schema}.records SET time = now()`,
          `DELETE FROM ${db.schema}.records WHERE seq = 0`,
          `TRUNCATE ${db.schema}.records`,
          `UPDATE ${db.schema}.checkpoints SET sealed = false`,
          `DELETE FROM ${db.schema}.checkpoints`,
          `TRUNCATE ${db.schema}.logs CASCADE`,
        ]) {
          await expect(c.query(sql), `${who}: ${sql}`).rejects.toThrow(pattern);
        }
      } finally {
        await c.end();
      }
    }
    // The writer may add and read, which is all the shipper does.
    const w = await connectPg(db.writerUrl);
    try {
      await w.query(`INSERT INTO ${db.schema}.logs (origin) VALUES ('test.local/other')`);
      expect((await w.query(`SELECT count(*)::int AS n FROM ${db.schema}.records`)).rows[0].n).toBe(5);
    } finally {
      await w.end();
    }
  });

  pgIt('close() seals the log and moves its WAL aside; the next start is a new log; a sealed WAL left in place is refused (AUDIT_LOG_SEALED)', async () => {
    const db = await freshDb();
    const root = tempDir();
    const { keystoreDir } = await keystore(root);
    const walDir = join(root, 'wal');
    // No AUDIT_ORIGIN: the default origin (host + boot id), kept by the WAL across crashes.
    const make = (): AuditEngine => {
      const e = createAudit({ env: {}, registry: new Registry(), walEnabled: true, walDir, keystoreDir, keyId: 'k', pgUrl: db.writerUrl, pgSchema: db.schema });
      open.push(e);
      return e;
    };
    const first = make();
    await first.ready();
    await emitMany(first, 20, 'first');
    await first.close();
    expect(first.checkpoint()?.note).toMatch(/\nsealed\n\n/);
    expect(readdirSync(walDir).filter((n) => n.endsWith('.wal'))).toEqual([]);
    const [archived] = readdirSync(join(walDir, 'sealed'));
    expect(readdirSync(join(walDir, 'sealed', archived!))).toContain('00000000000000000000.wal');

    const second = make();
    await second.ready();
    expect(second.origin).not.toBe(first.origin);
    await emitMany(second, 5, 'second');
    await second.close();
    const report = await verifyPg({ url: db.ownerUrl, schema: db.schema, keys: [first.verifierKey()] });
    expect(report.ok).toBe(true);
    expect(report.logs.map((l) => [l.origin, l.status, l.size])).toEqual([
      [first.origin, 'sealed', 20],
      [second.origin, 'sealed', 5],
    ]);

    // A crash between writing the seal and moving the WAL: the next start refuses to append.
    cpSync(join(walDir, 'sealed', archived!), walDir, { recursive: true });
    const third = make();
    const err = (await rejected(third.ready())) as AuditError;
    expect(err.code).toBe('AUDIT_LOG_SEALED');
    expect(third.health().ready).toBe(false);
    expect(readdirSync(walDir).filter((n) => n.endsWith('.wal'))).toEqual([]);
    await third.close();
    const fourth = make();
    await fourth.ready();
    expect(fourth.origin).not.toBe(first.origin);
  });

  pgIt('an explicit AUDIT_ORIGIN reused after its log was sealed is refused by the shipper (AUDIT_LOG_SEALED); the replica keeps serving', async () => {
    const db = await freshDb();
    const root = tempDir();
    const { keystoreDir } = await keystore(root);
    const a = await replica(db, root, keystoreDir, 'x', { origin: 'test.local/fixed' });
    await emitMany(a.engine, 3, 'x');
    await a.engine.close();
    const again = await replica(db, root, keystoreDir, 'x', { origin: 'test.local/fixed' });
    await until('the refusal', () => again.engine.health().reasons.some((r) => r.code === 'AUDIT_LOG_SEALED'));
    expect(again.engine.health().ready).toBe(true);
    expect((await again.engine.emitDurable({ action: 'still.serving', outcome: 'success' })).durable).toBe(true);
    expect(await storedIds(db)).toHaveProperty('size', 3);
  });

  pgIt('a close whose shipping cannot finish by the deadline leaves the log unsealed, and the restart continues it', async () => {
    const db = await freshDb();
    const root = tempDir();
    const { keystoreDir } = await keystore(root);
    const r = await replica(db, root, keystoreDir, 'quick');
    await emitMany(r.engine, 10, 'x');
    await r.engine.close({ timeoutMs: 0 });
    expect(existsSync(join(r.walDir, '00000000000000000000.wal'))).toBe(true);
    const again = await replica(db, root, keystoreDir, 'quick');
    expect(again.engine.health().log.size).toBe(10);
    await emitMany(again.engine, 5, 'y');
    await again.engine.close();
    const report = await verifyPg({ url: db.ownerUrl, schema: db.schema, keys: [again.engine.verifierKey()] });
    expect(report.logs.map((l) => [l.status, l.size])).toEqual([['sealed', 15]]);
  });

  pgIt('with the database unreachable, close() keeps to its timeout and leaves the log unsealed in its WAL', async () => {
    const root = tempDir();
    const { keystoreDir } = await keystore(root);
    const logger = recordingLogger();
    const walDir = join(root, 'wal');
    const e = createAudit({ env: {}, registry: new Registry(), logger, walEnabled: true, walDir, keystoreDir, keyId: 'k', origin: 'test.local/unreachable', pgUrl: 'postgres://nobody@127.0.0.1:1/none' });
    open.push(e);
    await e.ready();
    expect((await e.emitDurable({ action: 'x', outcome: 'success' })).durable).toBe(true);
    const t0 = Date.now();
    await e.close({ timeoutMs: 800 });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(existsSync(join(walDir, '00000000000000000000.wal'))).toBe(true);
    expect(loggedText(logger.lines)).toMatch(/not sealed: 1 records not in PostgreSQL by the close deadline/);
  });

  pgIt('memory stays bounded while the database is unreachable: batches beyond the bound are left in the WAL, and the lag says how many', async () => {
    const root = tempDir();
    const registry = new Registry();
    const m = metricsFor(registry);
    const shipper = new PgShipper({
      url: 'postgres://nobody@127.0.0.1:1/none',
      schema: 'ron_audit',
      batch: 64,
      walDir: join(root, 'wal'),
      ops: nodeFileOps,
      origin: 'test.local/bounded',
      logger: recordingLogger(),
      shippedTotal: m.shipped,
      equivocations: m.equivocations,
      durableSize: 0,
      bufferBytes: 10_000,
    });
    shipper.start();
    const rec = new Uint8Array(100);
    for (let seq = 0; seq < 5000; seq += 50) shipper.offer(seq, Array.from({ length: 50 }, () => rec));
    const held = shipper as unknown as { bufBytes: number; buf: unknown[] };
    expect(held.bufBytes).toBeLessThanOrEqual(10_000);
    expect(held.buf.length).toBeLessThanOrEqual(100);
    expect(shipper.lag).toBe(5000);
    await until('the fault', () => shipper.current !== undefined, 8000);
    expect(shipper.current?.code).toBe('AUDIT_PG_UNAVAILABLE');
    expect(shipper.current?.message).toMatch(/5000 records wait in the WAL/);
    await shipper.close();
  });
});
