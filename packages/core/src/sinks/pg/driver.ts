import type { Client, ClientConfig } from 'pg';
import { redactUrlPassword } from '../../config.js';
import { AuditError } from '../../errors.js';

/**
 * The `pg` client, loaded only when PostgreSQL is configured: it is an optional peer dependency,
 * so a host that never sets AUDIT_PG_URL does not need it installed.
 */

export type PgClient = Client;

type PgModule = { Client: new (config: ClientConfig) => Client };

let loaded: Promise<PgModule> | undefined;

export function loadPg(): Promise<PgModule> {
  loaded ??= import('pg').then(
    (m) => {
      const mod = m as unknown as PgModule & { default?: PgModule };
      const Ctor = mod.Client ?? mod.default?.Client;
      if (typeof Ctor !== 'function') throw new AuditError('AUDIT_PG_DRIVER_MISSING', 'the installed `pg` package has no Client export (need pg v8)');
      return { Client: Ctor };
    },
    (err: unknown) => {
      loaded = undefined;
      throw new AuditError('AUDIT_PG_DRIVER_MISSING', `PostgreSQL is configured but the optional dependency \`pg\` cannot be loaded (${(err as Error)?.message ?? String(err)}): npm install pg@8`);
    },
  );
  return loaded;
}

export interface ConnectOptions {
  /** Milliseconds to wait for a connection; default 5000. */
  readonly connectTimeoutMs?: number;
  /** Client-side limit on one statement; default 30000. */
  readonly queryTimeoutMs?: number;
  readonly applicationName?: string;
}

/** Connect one client. Errors become AUDIT_PG_UNAVAILABLE (the URL's password is never in a message). */
export async function connectPg(url: string, o: ConnectOptions = {}): Promise<PgClient> {
  const { Client } = await loadPg();
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 5000,
    query_timeout: o.queryTimeoutMs ?? 30_000,
    application_name: o.applicationName ?? 'ron-audit',
  });
  // An idle client whose server goes away emits 'error'; unhandled, that would crash the host.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    void client.end().catch(() => undefined);
    throw pgError(err, `cannot connect to ${redactUrlPassword(url)}`);
  }
  return client;
}

/** SQLSTATEs that mean "our schema is not there or we may not use it": the operator must migrate or grant. */
const SCHEMA_STATES: Record<string, string> = {
  '42P01': 'a table is missing: run `ronctl pg migrate --url <owner URL> --schema <schema>` first',
  '3F000': 'the schema is missing: run `ronctl pg migrate --url <owner URL> --schema <schema>` first',
  '42501': 'permission denied: connect as the writer role the migration granted (docs/scaling.md)',
  '28P01': 'password authentication failed',
  '28000': 'the role may not connect',
  '3D000': 'the database does not exist',
};

/** An AuditError for a failed PostgreSQL call, keeping SQLSTATE and errno in details. */
export function pgError(err: unknown, what: string): AuditError {
  if (err instanceof AuditError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const hint = code !== undefined ? SCHEMA_STATES[code] : undefined;
  const msg = redactUrlPassword(typeof e?.message === 'string' ? e.message : String(err));
  return new AuditError('AUDIT_PG_UNAVAILABLE', `${what}: ${msg}${code ? ` (${code})` : ''}${hint ? `: ${hint}` : ''}`, { sqlstate: code });
}

/** Quote a validated lowercase identifier (schema or role names come from config, checked there). */
export function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new AuditError('AUDIT_INVALID_ARGUMENT', `not a lowercase SQL identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}
