import { ident } from './driver.js';

/**
 * The PostgreSQL layout of format v1 (docs/format.md §14): one row per log, per record and per
 * shipped checkpoint. The shipper writes it, verifyPg reads it, migratePg creates it. Every
 * statement that touches a table is built here, so the layout lives in one place.
 */

export const PG_SCHEMA_VERSION = 1;

export const DEFAULT_WRITER_ROLE = 'ron_audit_writer';
export const DEFAULT_READER_ROLE = 'ron_audit_reader';
/** SQLSTATE raised by refuse_conflict(): a stored record differs from the one shipped. */
export const EQUIVOCATION_SQLSTATE = 'RAEQ1';

/** The migration, as statements run in one transaction (idempotent: safe to run again). */
export function migrationSql(schema: string, writer: string, reader: string): string[] {
  const s = ident(schema);
  const w = ident(writer);
  const r = ident(reader);
  const tables = ['logs', 'records', 'checkpoints', 'schema_version'];
  const roles = (role: string, q: string): string =>
    `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${q} LOGIN; END IF; END $$`;
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.schema_version (
       version integer PRIMARY KEY,
       applied_at timestamptz NOT NULL DEFAULT now())`,
    `CREATE TABLE IF NOT EXISTS ${s}.logs (
       log_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
       origin text NOT NULL UNIQUE CHECK (octet_length(origin) BETWEEN 1 AND 255),
       created_at timestamptz NOT NULL DEFAULT now())`,
    `CREATE TABLE IF NOT EXISTS ${s}.records (
       log_id bigint NOT NULL REFERENCES ${s}.logs (log_id),
       seq bigint NOT NULL CHECK (seq >= 0),
       time timestamptz,
       hash bytea NOT NULL CHECK (octet_length(hash) = 32),
       bytes bytea NOT NULL CHECK (octet_length(bytes) BETWEEN 1 AND 65535),
       shipped_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (log_id, seq))`,
    `CREATE INDEX IF NOT EXISTS records_time_idx ON ${s}.records (time, log_id)`,
    `CREATE TABLE IF NOT EXISTS ${s}.checkpoints (
       log_id bigint NOT NULL REFERENCES ${s}.logs (log_id),
       size bigint NOT NULL CHECK (size >= 0),
       digest bytea NOT NULL CHECK (octet_length(digest) = 32),
       note text NOT NULL,
       time timestamptz,
       sealed boolean NOT NULL,
       shipped_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (log_id, size, digest))`,
    // A log is sealed at most once (format §14).
    `CREATE UNIQUE INDEX IF NOT EXISTS checkpoints_one_seal_idx ON ${s}.checkpoints (log_id) WHERE sealed`,
    `CREATE OR REPLACE FUNCTION ${s}.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       RAISE EXCEPTION 'ron-audit: % on %.% refused: the audit tables are append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
         USING ERRCODE = 'insufficient_privilege';
     END $$`,
    // Aborts a shipping statement (and so its whole insert) when a stored record differs: equivocation.
    `CREATE OR REPLACE FUNCTION ${s}.refuse_conflict(seq bigint) RETURNS boolean LANGUAGE plpgsql AS $$
     BEGIN
       IF seq IS NOT NULL THEN
         RAISE EXCEPTION 'ron-audit: another record is stored at seq %', seq USING ERRCODE = '${EQUIVOCATION_SQLSTATE}';
       END IF;
       RETURN true;
     END $$`,
    ...tables.flatMap((t) => [
      `CREATE OR REPLACE TRIGGER append_only_row BEFORE UPDATE OR DELETE ON ${s}.${t} FOR EACH ROW EXECUTE FUNCTION ${s}.append_only()`,
      `CREATE OR REPLACE TRIGGER append_only_truncate BEFORE TRUNCATE ON ${s}.${t} FOR EACH STATEMENT EXECUTE FUNCTION ${s}.append_only()`,
    ]),
    roles(writer, w),
    roles(reader, r),
    `REVOKE ALL ON ALL TABLES IN SCHEMA ${s} FROM ${w}, ${r}`,
    `GRANT USAGE ON SCHEMA ${s} TO ${w}, ${r}`,
    `GRANT SELECT, INSERT ON ${s}.logs, ${s}.records, ${s}.checkpoints TO ${w}`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${w}, ${r}`,
    `GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${s} TO ${w}`,
    `GRANT EXECUTE ON FUNCTION ${s}.refuse_conflict(bigint) TO ${w}`,
    `INSERT INTO ${s}.schema_version (version) VALUES (${PG_SCHEMA_VERSION}) ON CONFLICT DO NOTHING`,
  ];
}

/** The statements the shipper and the verifier run, for one schema. */
export function statements(schema: string) {
  const s = ident(schema);
  return {
    ensureLog: `INSERT INTO ${s}.logs (origin) VALUES ($1) ON CONFLICT (origin) DO NOTHING`,
    logId: `SELECT log_id FROM ${s}.logs WHERE origin = $1`,
    /** The database's own high-water mark for a log: the shipper resumes there. */
    highWater: `SELECT coalesce(max(seq) + 1, 0)::bigint AS next FROM ${s}.records WHERE log_id = $1`,
    sealedSize: `SELECT size FROM ${s}.checkpoints WHERE log_id = $1 AND sealed`,
    /** Serialize the writers of one log (two processes with one origin must not interleave). */
    lock: `SELECT pg_advisory_xact_lock($1::bigint)`,
    /** Multi-row VALUES: $1 the log, then (seq, time, hash, bytes) per row — bytea parameters travel binary. */
    insertRecords(rows: number): string {
      const values: string[] = [];
      for (let i = 0; i < rows; i++) values.push(`($1, $${4 * i + 2}::bigint, $${4 * i + 3}::timestamptz, $${4 * i + 4}::bytea, $${4 * i + 5}::bytea)`);
      return `INSERT INTO ${s}.records (log_id, seq, time, hash, bytes) VALUES ${values.join(', ')} ON CONFLICT DO NOTHING RETURNING seq`;
    },
    /**
     * The hot path, one autocommit statement: insert the rows; any row that was already stored
     * must have the same hash, else refuse_conflict() aborts the statement and nothing of it is
     * kept. (The CTE's reads see the statement's snapshot: a row committed meanwhile by a
     * concurrent writer of this origin reads as absent, which is reported too — two writers is
     * the equivocation.) The stored rows are looked up only when some row was not new. Returns
     * how many rows were new.
     */
    shipRecords(rows: number): string {
      const values: string[] = [];
      for (let i = 0; i < rows; i++) values.push(`($${4 * i + 2}::bigint, $${4 * i + 3}::timestamptz, $${4 * i + 4}::bytea, $${4 * i + 5}::bytea)`);
      return `WITH v (seq, time, hash, bytes) AS (VALUES ${values.join(', ')}),
        ins AS (INSERT INTO ${s}.records (log_id, seq, time, hash, bytes) SELECT $1, seq, time, hash, bytes FROM v ON CONFLICT DO NOTHING RETURNING seq),
        bad AS (SELECT v.seq FROM v LEFT JOIN ${s}.records r ON r.log_id = $1 AND r.seq = v.seq
                WHERE v.seq NOT IN (SELECT seq FROM ins) AND r.hash IS DISTINCT FROM v.hash)
        SELECT n.inserted, CASE WHEN n.inserted = ${rows} THEN true ELSE ${s}.refuse_conflict((SELECT min(seq) FROM bad)) END AS ok
        FROM (SELECT count(*)::int AS inserted FROM ins) AS n`;
    },
    storedHashes: `SELECT seq, hash FROM ${s}.records WHERE log_id = $1 AND seq = ANY($2::bigint[])`,
    storedHash: `SELECT hash FROM ${s}.records WHERE log_id = $1 AND seq = $2`,
    insertCheckpoint: `INSERT INTO ${s}.checkpoints (log_id, size, digest, note, time, sealed) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
    // Verifier reads.
    schemaVersion: `SELECT max(version) AS version FROM ${s}.schema_version`,
    allLogs: `SELECT log_id, origin FROM ${s}.logs ORDER BY log_id`,
    logsInWindow: `SELECT r.log_id, l.origin, min(r.seq) AS lo, max(r.seq) AS hi, count(*) AS n
       FROM ${s}.records r JOIN ${s}.logs l USING (log_id)
       WHERE r.time >= $1 AND r.time <= $2 GROUP BY r.log_id, l.origin ORDER BY r.log_id`,
    checkpointsOf: `SELECT size, note, sealed FROM ${s}.checkpoints WHERE log_id = $1 ORDER BY size, sealed, digest`,
    /** A page of records with their bytes (keyset pagination on the primary key). */
    recordPage: `SELECT seq, hash, bytes FROM ${s}.records WHERE log_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`,
    /**
     * A page for a windowed check: bytes only where needed (the window, the record before it, and
     * key announcements/retirements, format §12); elsewhere the RFC 6962 leaf hash, computed by
     * the server from the stored bytes, so the tree still covers every stored record.
     */
    leafPage: `SELECT seq, hash,
         CASE WHEN seq BETWEEN $4 AND $5 OR position('"ron-audit.key.'::bytea IN bytes) > 0 THEN bytes END AS bytes,
         CASE WHEN seq BETWEEN $4 AND $5 OR position('"ron-audit.key.'::bytea IN bytes) > 0 THEN NULL ELSE sha256('\\x00'::bytea || bytes) END AS leaf
       FROM ${s}.records WHERE log_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`,
  };
}
