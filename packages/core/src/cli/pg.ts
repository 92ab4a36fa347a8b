import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { redactUrlPassword } from '../config.js';
import { AuditError } from '../errors.js';
import { listKeys } from '../sign/keystore.js';
import { formatVerifierKey } from '../sign/note.js';
import { migratePg } from '../sinks/pg/migrate.js';
import { verifyPg, type PgLogReport, type PgVerifyReport } from '../verify/pg.js';
import { keysFromFlags } from './trust.js';

/**
 * The PostgreSQL commands of ronctl, thin shells over verifyPg and migratePg:
 *
 *   ronctl audit verify --pg URL [--since TS --until TS | --full] [--key VKEY … | --key-file F | --keystore-dir D]
 *   ronctl pg migrate --url URL [--schema S] [--writer-role R] [--reader-role R]
 *
 * Exit codes as every ronctl command: 0 OK; 1 verification failed or a log is possibly
 * truncated; 2 usage error or the database cannot be read.
 */

export interface PgCliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

class UsageError extends Error {}

export const PG_VERIFY_HELP = `Usage: ronctl audit verify --pg URL [--since TS --until TS | --full] [--schema S]
                          [--key VKEY ... | --key-file FILE | --keystore-dir DIR]
                          [--stale-after SECONDS] [--json]

Verifies every log in a PostgreSQL audit database (docs/format.md §14): no gap in seq, every
record canonical, every prev link and stored hash, the Merkle tree against every shipped signed
checkpoint, nothing after a seal. Each log's end is classified: sealed (finished by a graceful
shutdown), live (newest checkpoint younger than --stale-after) or possibly truncated.

  --pg URL                  the database (a reader role is enough; put the password in PGPASSWORD)
  --since TS, --until TS    only logs with a record whose time is in the window; records outside
                            it enter the tree as leaf hashes computed by the database
  --full                    read every record whole (the default without a window)
  --schema S                the audit schema (default ron_audit, as AUDIT_PG_SCHEMA)
  --stale-after SECONDS     an unsealed log with an older newest checkpoint is possibly truncated
                            (default 600)
  --json                    print the report as JSON
Trusted keys: --key VKEY (repeatable) or --key-file FILE (one per line); each key's public key is
trusted for every log of the database. --keystore-dir DIR trusts the keys of a keystore
(operator mode; an auditor should not).

Exit status: 0 every log verifies and none is possibly truncated; 1 a log failed (its origin,
reason, seq range and record) or is possibly truncated; 2 usage error or the database cannot be read.`;

export const PG_MIGRATE_HELP = `Usage: ronctl pg migrate --url URL [--schema S] [--writer-role R] [--reader-role R]

Creates (or brings up to date) the audit schema: the tables logs, records and checkpoints, the
index on time, triggers that refuse UPDATE, DELETE and TRUNCATE, a writer role (INSERT and SELECT
only, for AUDIT_PG_URL) and a reader role (SELECT only, for auditors). Idempotent. Run it as a role
that may create schemas and roles. Passwords: RON_AUDIT_PG_WRITER_PASSWORD and
RON_AUDIT_PG_READER_PASSWORD, when set, become the roles' passwords.

Exit status: 0 migrated; 2 usage error or the database refused.`;

function parseTime(flag: string, text: string): number {
  if (/^[0-9]+$/.test(text)) return Number(text);
  const t = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/i.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(t)) throw new UsageError(`--${flag}: expected an RFC 3339 time (e.g. 2026-11-27T06:00:00Z) or milliseconds since the epoch, got ${JSON.stringify(text)}`);
  return t;
}

function age(ms: number | null): string {
  if (ms === null) return 'of unknown age';
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s old` : s < 7200 ? `${Math.round(s / 60)}m old` : `${Math.round(s / 3600)}h old`;
}

function logLine(l: PgLogReport): string {
  const end = l.status === 'sealed' ? `sealed at size ${l.checkpointSize}` : l.status === 'live' ? `live, checkpoint size ${l.checkpointSize} ${age(l.checkpointAgeMs)}` : `POSSIBLY TRUNCATED: not sealed, newest checkpoint ${l.checkpointSize === 0 && l.checkpointTime === null ? 'missing' : `size ${l.checkpointSize} ${age(l.checkpointAgeMs)}`}`;
  return `  ${l.origin}: ${l.size} records, ${l.verified} verified${l.uncovered > 0 ? `, ${l.uncovered} not yet under a checkpoint` : ''}; ${end}`;
}

function printReport(r: PgVerifyReport, out: (s: string) => void): void {
  if (r.failure !== null) {
    const f = r.failure;
    out(`FAIL: ${f.reason}: ${f.message}`);
    out(`  log:    ${f.origin}`);
    if (f.firstSeq !== null) out(`  range:  seq ${f.firstSeq}–${f.lastSeq}`);
    if (f.seq !== null) out(`  record: seq ${f.seq}${f.time !== null ? `, time ${f.time}` : ''}`);
  } else if (r.possiblyTruncated.length > 0) {
    out(`FAIL: possibly_truncated: ${r.possiblyTruncated.length} log(s) neither sealed nor covered by a recent checkpoint`);
  } else {
    const sealed = r.logs.filter((l) => l.status === 'sealed').length;
    out(`OK: ${r.logs.length} logs, ${r.verified} records verified (${sealed} sealed, ${r.logs.length - sealed} live)`);
  }
  if (r.window !== null) out(`  window: ${r.inRange} records with time in [${r.window.since === null ? 'the start' : new Date(r.window.since).toISOString()}, ${r.window.until === null ? 'now' : new Date(r.window.until).toISOString()}]`);
  for (const l of r.logs) out(logLine(l));
}

async function keysFrom(values: Record<string, unknown>, io: PgCliIo): Promise<string[]> {
  const keys = await keysFromFlags(
    (values['key'] as string[] | undefined) ?? [],
    (values['key-file'] as string[] | undefined) ?? [],
    (file) => resolve(io.cwd, file),
    (message) => new UsageError(message),
  );
  if (keys.length > 0) return keys;
  const dir = (values['keystore-dir'] as string | undefined) ?? io.env['AUDIT_KEYSTORE_DIR'];
  if (dir === undefined || dir.length === 0) throw new UsageError("no trusted key: pass --key VKEY or --key-file FILE (the logs' verifier key, as an auditor), or --keystore-dir DIR (operator mode)");
  const found = (await listKeys(resolve(io.cwd, dir))).map((k) => formatVerifierKey('ron-audit.keystore', k.publicKey));
  if (found.length === 0) throw new UsageError(`keystore ${dir} holds no keys`);
  io.stderr.write(`note: operator mode: trusting the ${found.length} key(s) of keystore ${dir}\n`);
  return found;
}

function exitFor(err: unknown, io: PgCliIo, help: string): number {
  if (err instanceof UsageError) {
    io.stderr.write(`ronctl: ${err.message}\n${help.split('\n')[0]}\n`);
    return 2;
  }
  if (err instanceof AuditError) {
    io.stderr.write(`ronctl: ${err.code}: ${redactUrlPassword(err.message)}\n`);
    return 2;
  }
  const code = (err as { code?: unknown } | null)?.code;
  io.stderr.write(`ronctl: ${typeof code === 'string' ? `${code}: ` : ''}${err instanceof Error ? err.message : String(err)}\n`);
  return 2;
}

/** `ronctl audit verify --pg URL …` (argv without "audit verify"). */
export async function pgVerifyCommand(argv: readonly string[], io: PgCliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: {
        pg: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        full: { type: 'boolean' },
        schema: { type: 'string' },
        'stale-after': { type: 'string' },
        json: { type: 'boolean' },
        key: { type: 'string', multiple: true },
        'key-file': { type: 'string', multiple: true },
        'keystore-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (values.help === true) {
      io.stdout.write(`${PG_VERIFY_HELP}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const url = values.pg;
    if (url === undefined || !/^postgres(ql)?:\/\/./.test(url) || !URL.canParse(url)) throw new UsageError(`--pg: expected a postgres:// URL, got ${url === undefined ? 'nothing' : JSON.stringify(redactUrlPassword(url))}`);
    const since = values.since === undefined ? undefined : parseTime('since', values.since);
    const until = values.until === undefined ? undefined : parseTime('until', values.until);
    if (since !== undefined && until !== undefined && until < since) throw new UsageError('--until is before --since');
    if (values.full === true && (since !== undefined || until !== undefined)) {
      // --full with a window reads every record whole and counts the window: allowed, and stated.
      io.stderr.write('note: --full reads every record whole; the window only selects the logs and counts records\n');
    }
    if (values.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(values.schema)) throw new UsageError(`--schema: expected a lowercase SQL identifier, got ${JSON.stringify(values.schema)}`);
    let staleAfterMs: number | undefined;
    if (values['stale-after'] !== undefined) {
      if (!/^[0-9]{1,9}$/.test(values['stale-after'])) throw new UsageError(`--stale-after: expected whole seconds, got ${JSON.stringify(values['stale-after'])}`);
      staleAfterMs = Number(values['stale-after']) * 1000;
    }
    const keys = await keysFrom(values, io);
    const report = await verifyPg({
      url,
      keys,
      ...(values.schema !== undefined ? { schema: values.schema } : {}),
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      ...(values.full === true ? { full: true } : {}),
      ...(staleAfterMs !== undefined ? { staleAfterMs } : {}),
    });
    if (values.json === true) io.stdout.write(`${JSON.stringify(report)}\n`);
    else printReport(report, (s) => io.stdout.write(`${s}\n`));
    return report.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return exitFor(new UsageError(err.message), io, PG_VERIFY_HELP);
    return exitFor(err, io, PG_VERIFY_HELP);
  }
}

/** `ronctl pg migrate --url URL …` (argv without "pg migrate"). */
export async function pgMigrateCommand(argv: readonly string[], io: PgCliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { url: { type: 'string' }, schema: { type: 'string' }, 'writer-role': { type: 'string' }, 'reader-role': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help === true) {
      io.stdout.write(`${PG_MIGRATE_HELP}\n`);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const url = values.url;
    if (url === undefined || !/^postgres(ql)?:\/\/./.test(url) || !URL.canParse(url)) throw new UsageError(`--url: expected a postgres:// URL, got ${url === undefined ? 'nothing' : JSON.stringify(redactUrlPassword(url))}`);
    for (const flag of ['schema', 'writer-role', 'reader-role'] as const) {
      const v = values[flag];
      if (v !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(v)) throw new UsageError(`--${flag}: expected a lowercase SQL identifier, got ${JSON.stringify(v)}`);
    }
    const writerPassword = io.env['RON_AUDIT_PG_WRITER_PASSWORD'];
    const readerPassword = io.env['RON_AUDIT_PG_READER_PASSWORD'];
    const r = await migratePg({
      url,
      ...(values.schema !== undefined ? { schema: values.schema } : {}),
      ...(values['writer-role'] !== undefined ? { writerRole: values['writer-role'] } : {}),
      ...(values['reader-role'] !== undefined ? { readerRole: values['reader-role'] } : {}),
      ...(writerPassword ? { writerPassword } : {}),
      ...(readerPassword ? { readerPassword } : {}),
    });
    io.stdout.write(`OK: schema ${r.schema} at version ${r.version}; writer role ${r.writerRole} (INSERT, SELECT), reader role ${r.readerRole} (SELECT)\n`);
    return 0;
  } catch (err) {
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return exitFor(new UsageError(err.message), io, PG_MIGRATE_HELP);
    return exitFor(err, io, PG_MIGRATE_HELP);
  }
}
