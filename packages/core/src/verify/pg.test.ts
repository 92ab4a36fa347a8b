// verifyPg against a real PostgreSQL: a log shipped by a real engine, then tampered with as a
// database superuser would (triggers bypassed with session_replication_role), one case per row;
// a truncated replica; windowed reads; and the wrong-input matrix.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect } from 'vitest';
import { keystore, tempDir } from '../../test/helpers.js';
import { metricValue, sleep } from '../../test/support/engine.js';
import { freshDb, pgIt, PG_URL, type TestDb } from '../../test/support/pg.js';
import { createAudit } from '../create-audit.js';
import { AuditError } from '../errors.js';
import { formatCheckpoint, parseCheckpoint } from '../log/checkpoint.js';
import { nextLink as recordHash } from '../log/chain.js';
import { parseNote, signNote } from '../sign/note.js';
import { localSigner, noteSignerFor } from '../sign/signer.js';
import { connectPg } from '../sinks/pg/driver.js';
import { verifyPg, type PgFailureReason, type PgVerifyOptions } from './pg.js';

const ORIGIN = 'test.local/verify';
const T0 = Date.parse('2026-11-27T06:00:00.000Z');
let base: TestDb;
let vkey: string;

/** 40 records, one a minute from T0, shipped by an engine and sealed. */
async function shippedLog(db: TestDb, origin: string, n: number, seal: boolean): Promise<string> {
  const root = tempDir();
  const { keystoreDir } = await keystore(root);
  const registry = new Registry();
  const e = createAudit({ env: {}, registry, walEnabled: true, walDir: join(root, 'wal'), keystoreDir, keyId: 'k', origin, pgUrl: db.writerUrl, pgSchema: db.schema, walBatch: 8, pgBatch: 8 });
  await e.ready();
  for (let i = 0; i < n; i++) await e.emitDurable({ action: 'verify.test', outcome: 'success', time: T0 + i * 60_000, attributes: { i } });
  while ((await metricValue(registry, 'audit_ship_lag_records')) > 0) await sleep(10);
  await sleep(1100); // one more checkpoint cadence, so a live log is covered
  await e.close(seal ? {} : { timeoutMs: 0 });
  return e.verifierKey();
}

beforeAll(async () => {
  if (!PG_URL) return;
  base = await freshDb();
  vkey = await shippedLog(base, ORIGIN, 40, true);
}, 30_000);

/** A copy of the base schema, tampered with by `tamper` (run as the superuser, triggers off). */
async function tampered(tamper: (q: (sql: string, p?: unknown[]) => Promise<Record<string, unknown>[]>, s: string) => Promise<void>): Promise<TestDb> {
  const db = await freshDb(PG_URL, 'v');
  const c = await connectPg(PG_URL);
  try {
    await c.query('SET session_replication_role = replica');
    await c.query(`INSERT INTO ${db.schema}.logs OVERRIDING SYSTEM VALUE SELECT * FROM ${base.schema}.logs`);
    await c.query(`INSERT INTO ${db.schema}.records SELECT * FROM ${base.schema}.records`);
    await c.query(`INSERT INTO ${db.schema}.checkpoints SELECT * FROM ${base.schema}.checkpoints`);
    await tamper(async (sql, p = []) => (await c.query(sql, p)).rows as Record<string, unknown>[], db.schema);
  } finally {
    await c.end();
  }
  return db;
}

const bytesOf = async (q: (sql: string, p?: unknown[]) => Promise<Record<string, unknown>[]>, s: string, seq: number): Promise<string> =>
  (await q(`SELECT convert_from(bytes, 'UTF8') AS t FROM ${s}.records WHERE seq = $1`, [seq]))[0]!['t'] as string;

const setRecord = async (q: (sql: string, p?: unknown[]) => Promise<Record<string, unknown>[]>, s: string, seq: number, text: string, rehash: boolean): Promise<void> => {
  const bytes = Buffer.from(text, 'utf8');
  if (rehash) await q(`UPDATE ${s}.records SET bytes = $2, hash = $3 WHERE seq = $1`, [seq, bytes, Buffer.from(recordHash(bytes))]);
  else await q(`UPDATE ${s}.records SET bytes = $2 WHERE seq = $1`, [seq, bytes]);
};

describe('verifyPg', () => {
  pgIt('an untouched sealed log verifies, in full and through small pages', async () => {
    for (const pageSize of [5000, 7]) {
      const r = await verifyPg({ url: PG_URL, schema: base.schema, keys: [vkey], pageSize });
      expect(r.failure).toBeNull();
      expect(r.ok).toBe(true);
      expect(r.logs).toHaveLength(1);
      expect(r.logs[0]).toMatchObject({ origin: ORIGIN, status: 'sealed', size: 40, verified: 40, inRange: 40, uncovered: 0, sealed: true });
    }
  });

  const cases: [string, (q: (sql: string, p?: unknown[]) => Promise<Record<string, unknown>[]>, s: string) => Promise<void>, PgFailureReason, number | null][] = [
    ['a record changed in place', async (q, s) => setRecord(q, s, 5, (await bytesOf(q, s, 5)).replace('"outcome":"success"', '"outcome":"failure"'), false), 'hash_mismatch', 5],
    [
      'a record changed with its hash column',
      async (q, s) => {
        await setRecord(q, s, 5, (await bytesOf(q, s, 5)).replace('"outcome":"success"', '"outcome":"failure"'), true);
        // Only the final checkpoints: the chain check at 6 then comes before any root comparison.
        await q(`DELETE FROM ${s}.checkpoints WHERE size < 40`);
      },
      'chain_broken',
      6,
    ],
    ['a record made non-canonical', async (q, s) => setRecord(q, s, 9, (await bytesOf(q, s, 9)).replace('{', '{ '), true), 'not_canonical', 9],
    ['a record deleted', async (q, s) => void (await q(`DELETE FROM ${s}.records WHERE seq = 7`)), 'gap', 7],
    [
      'two records swapped',
      async (q, s) => {
        const [a, b] = [await bytesOf(q, s, 3), await bytesOf(q, s, 4)];
        await setRecord(q, s, 3, b, true);
        await setRecord(q, s, 4, a, true);
      },
      'bad_seq',
      3,
    ],
    ['the tail deleted under its checkpoints', async (q, s) => void (await q(`DELETE FROM ${s}.records WHERE seq >= 30`)), 'truncated', 30],
    // Format §2.2 (issue 13 item 9): the last record rewritten with an outcome no writer produces,
    // its hash column recomputed; the member rule names it before the tree does.
    ['a record whose outcome is "maybe"', async (q, s) => setRecord(q, s, 39, (await bytesOf(q, s, 39)).replace('"outcome":"success"', '"outcome":"maybe"'), true), 'bad_outcome', 39],
    ['a record without milliseconds in its time', async (q, s) => setRecord(q, s, 39, (await bytesOf(q, s, 39)).replace(/"time":"([^"]+)\.\d{3}Z"/, '"time":"$1Z"'), true), 'bad_time', 39],
    [
      'a record appended after the seal',
      async (q, s) => void (await q(`INSERT INTO ${s}.records (log_id, seq, time, hash, bytes) SELECT log_id, 40, time, hash, bytes FROM ${s}.records WHERE seq = 39`)),
      'after_seal',
      40,
    ],
    [
      'a checkpoint text changed under its signature',
      async (q, s) => void (await q(`UPDATE ${s}.checkpoints SET note = replace(note, E'\\nsealed\\n', E'\\nsealed\\nx\\n') WHERE sealed`)),
      'signature_invalid',
      null,
    ],
    [
      'a checkpoint signed by a key nobody trusts',
      async (q, s) => {
        const sealed = (await q(`SELECT note FROM ${s}.checkpoints WHERE sealed`))[0]!['note'] as string;
        const cp = parseCheckpoint(parseNote(sealed).text);
        const forged = await signNote(formatCheckpoint({ origin: ORIGIN, size: cp.size, root: cp.root, time: cp.time! }), [noteSignerFor(ORIGIN, localSigner('evil', new Uint8Array(32).fill(9)))]);
        await q(`INSERT INTO ${s}.checkpoints (log_id, size, digest, note, time, sealed) SELECT log_id, 40, $1, $2, now(), false FROM ${s}.logs`, [createHash('sha256').update(forged).digest(), forged]);
      },
      'key_untrusted',
      null,
    ],
    [
      'a checkpoint for a root the records do not have',
      async (q, s) => {
        const forged = await signNote(formatCheckpoint({ origin: ORIGIN, size: 20, root: new Uint8Array(32).fill(1), time: T0 }), [noteSignerFor(ORIGIN, localSigner('evil', new Uint8Array(32).fill(9)))]);
        await q(`INSERT INTO ${s}.checkpoints (log_id, size, digest, note, time, sealed) SELECT log_id, 20, $1, $2, now(), false FROM ${s}.logs`, [createHash('sha256').update(forged).digest(), forged]);
      },
      'root_mismatch',
      null,
    ],
  ];

  pgIt.each(cases)('finds %s', async (_name, tamper, reason, seq) => {
    const db = await tampered(tamper);
    const r = await verifyPg({ url: PG_URL, schema: db.schema, keys: [vkey] });
    expect(r.ok).toBe(false);
    expect(r.failure?.reason).toBe(reason);
    expect(r.failure?.origin).toBe(ORIGIN);
    if (seq !== null) expect(r.failure?.seq).toBe(seq);
    expect(r.failure?.message.length).toBeGreaterThan(10);
  });

  pgIt('a window reads only its records whole, yet a change outside it still fails the tree (root_mismatch); full names the record', async () => {
    const ok = await verifyPg({ url: PG_URL, schema: base.schema, keys: [vkey], since: T0 + 30 * 60_000, until: T0 + 34 * 60_000 });
    expect(ok.ok).toBe(true);
    expect(ok.inRange).toBe(5);
    expect(ok.logs[0]).toMatchObject({ status: 'sealed', size: 40, verified: 40 });
    const none = await verifyPg({ url: PG_URL, schema: base.schema, keys: [vkey], since: T0 - 10 * 60_000, until: T0 - 60_000 });
    expect(none.logs).toEqual([]);
    expect(none.ok).toBe(true);

    const db = await tampered(async (q, s) => setRecord(q, s, 2, (await bytesOf(q, s, 2)).replace('"outcome":"success"', '"outcome":"aborted"'), false));
    const windowed = await verifyPg({ url: PG_URL, schema: db.schema, keys: [vkey], since: T0 + 30 * 60_000, until: T0 + 34 * 60_000 });
    expect(windowed.failure?.reason).toBe('root_mismatch');
    const full = await verifyPg({ url: PG_URL, schema: db.schema, keys: [vkey], since: T0 + 30 * 60_000, until: T0 + 34 * 60_000, full: true });
    expect(full.failure?.reason).toBe('hash_mismatch');
    expect(full.failure?.seq).toBe(2);
  });

  pgIt('a truncated replica — not sealed, newest checkpoint not recent — is reported as possibly truncated; a recent one is live', async () => {
    const db = await freshDb();
    const key = await shippedLog(db, 'test.local/killed', 12, false);
    const live = await verifyPg({ url: PG_URL, schema: db.schema, keys: [key] });
    expect(live.logs[0]).toMatchObject({ status: 'live', sealed: false, size: 12 });
    expect(live.ok).toBe(true);
    const later = await verifyPg({ url: PG_URL, schema: db.schema, keys: [key], now: () => Date.now() + 11 * 60_000 });
    expect(later.ok).toBe(false);
    expect(later.failure).toBeNull();
    expect(later.possiblyTruncated).toEqual(['test.local/killed']);
    expect(later.logs[0]?.status).toBe('possibly_truncated');
    // A log with records and no checkpoint at all.
    const c = await connectPg(db.writerUrl);
    try {
      await c.query(`INSERT INTO ${db.schema}.logs (origin) VALUES ('test.local/uncovered')`);
      await c.query(`INSERT INTO ${db.schema}.records (log_id, seq, time, hash, bytes) SELECT (SELECT log_id FROM ${db.schema}.logs WHERE origin = 'test.local/uncovered'), 0, now(), $1, $2`, [
        Buffer.from(recordHash(Buffer.from('{}'))),
        Buffer.from('{}'),
      ]);
    } finally {
      await c.end();
    }
    const r = await verifyPg({ url: PG_URL, schema: db.schema, keys: [key] });
    expect(r.logs.find((l) => l.origin === 'test.local/uncovered')).toMatchObject({ ok: false, failure: { reason: 'bad_version' } });
  });

  const bad: [string, Partial<PgVerifyOptions> | null][] = [
    ['options null', null],
    ['url missing', { url: undefined as unknown as string }],
    ['url not a string', { url: 5 as unknown as string }],
    ['url http', { url: 'http://127.0.0.1/x' }],
    ['url empty', { url: '' }],
    ['keys empty', { keys: [] }],
    ['keys not strings', { keys: [1] as unknown as string[] }],
    ['keys not an array', { keys: 'k' as unknown as string[] }],
    ['since NaN', { since: Number.NaN }],
    ['since huge', { since: 1e300 }],
    ['until before since', { since: 2000, until: 1000 }],
    ['full not boolean', { full: 'yes' as unknown as boolean }],
    ['schema with capitals', { schema: 'Audit' }],
    ['schema injection', { schema: 'x; drop table y' }],
    ['staleAfterMs negative', { staleAfterMs: -1 }],
    ['crypto unknown', { crypto: 'fast' as 'pure' }],
    ['pageSize zero', { pageSize: 0 }],
    ['pageSize fractional', { pageSize: 1.5 }],
  ];
  pgIt.each(bad)('refuses %s with AUDIT_INVALID_ARGUMENT', async (_name, change) => {
    const opts = change === null ? null : { url: PG_URL, keys: [vkey], schema: base.schema, ...change };
    await expect(verifyPg(opts as PgVerifyOptions)).rejects.toMatchObject({ code: 'AUDIT_INVALID_ARGUMENT' });
  });

  pgIt('a malformed key is AUDIT_KEY_INVALID; an unreachable database or a missing schema is AUDIT_PG_UNAVAILABLE (not a finding)', async () => {
    await expect(verifyPg({ url: PG_URL, keys: ['not a vkey'], schema: base.schema })).rejects.toMatchObject({ code: 'AUDIT_KEY_INVALID' });
    const down = await verifyPg({ url: 'postgres://nobody:secret-pw@127.0.0.1:1/none', keys: [vkey] }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(AuditError);
    expect((down as AuditError).code).toBe('AUDIT_PG_UNAVAILABLE');
    expect((down as AuditError).message).not.toContain('secret-pw');
    await expect(verifyPg({ url: PG_URL, keys: [vkey], schema: 'no_such_schema' })).rejects.toMatchObject({ code: 'AUDIT_PG_UNAVAILABLE' });
  });
});
