import { invalidArgument } from '../../errors.js';
import { connectPg, ident, pgError } from './driver.js';
import { DEFAULT_READER_ROLE, DEFAULT_WRITER_ROLE, migrationSql, PG_SCHEMA_VERSION } from './schema.js';
import { DEFAULT_PG_SCHEMA } from '../../config.js';

/**
 * Create (or bring up to date) the audit schema: tables, the time index, the append-only
 * triggers, a writer role (INSERT and SELECT only) and a reader role (SELECT only). Run it once
 * per database as a role that may create schemas and roles; replicas then connect as the writer.
 */

export interface MigrateOptions {
  /** An owner connection: creates the schema, the tables, the triggers and the roles. */
  readonly url: string;
  readonly schema?: string;
  readonly writerRole?: string;
  /** Set (or change) the writer role's password; omit to manage it yourself. */
  readonly writerPassword?: string;
  readonly readerRole?: string;
  readonly readerPassword?: string;
}

export interface MigrateResult {
  readonly schema: string;
  readonly version: number;
  readonly writerRole: string;
  readonly readerRole: string;
}

export async function migratePg(o: MigrateOptions): Promise<MigrateResult> {
  if (o === null || typeof o !== 'object') throw invalidArgument('options', '{url, schema?, writerRole?, …}', o);
  if (typeof o.url !== 'string' || !/^postgres(ql)?:\/\/./.test(o.url)) throw invalidArgument('url', 'a postgres:// URL', o.url);
  const schema = o.schema ?? DEFAULT_PG_SCHEMA;
  const writer = o.writerRole ?? DEFAULT_WRITER_ROLE;
  const reader = o.readerRole ?? DEFAULT_READER_ROLE;
  for (const [name, v] of [['schema', schema], ['writerRole', writer], ['readerRole', reader]] as const) {
    if (typeof v !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(v)) throw invalidArgument(name, 'a lowercase SQL identifier', v);
  }
  for (const [name, v] of [['writerPassword', o.writerPassword], ['readerPassword', o.readerPassword]] as const) {
    if (v !== undefined && (typeof v !== 'string' || v.length === 0)) throw invalidArgument(name, 'a non-empty string', v);
  }
  const client = await connectPg(o.url, { applicationName: 'ron-audit migrate' });
  try {
    await client.query('BEGIN');
    // Two migrations at once (replicas starting together) take turns.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('ron-audit migrate'))");
    for (const sql of migrationSql(schema, writer, reader)) await client.query(sql);
    if (o.writerPassword !== undefined) await client.query(`ALTER ROLE ${ident(writer)} PASSWORD ${client.escapeLiteral(o.writerPassword)}`);
    if (o.readerPassword !== undefined) await client.query(`ALTER ROLE ${ident(reader)} PASSWORD ${client.escapeLiteral(o.readerPassword)}`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw pgError(err, `migrating schema ${schema}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  return { schema, version: PG_SCHEMA_VERSION, writerRole: writer, readerRole: reader };
}
