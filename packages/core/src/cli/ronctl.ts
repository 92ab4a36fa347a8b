import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile, type LoadedConfig } from '../config-file.js';
import { CONFIG_KEYS, DEFAULT_KEYSTORE_DIR, MAX_WORKERS, redactUrlPassword, type AuditConfig } from '../config.js';
import { AuditError, isAuditError } from '../errors.js';
import { isValidOrigin } from '../log/checkpoint.js';
import { toBase64 } from '../prim/base64.js';
import { generateKey, generatePqKey, listKeys, listPqKeys } from '../sign/keystore.js';
import { formatVerifierKey } from '../sign/note.js';
import { parseCheckpointNote, readOptional } from '../sinks/export/reader.js';
import { replayWalToExport } from '../sinks/export/replay.js';
import { pruneWal } from '../sinks/wal/prune.js';
import { rebuildWalFromExport } from '../sinks/wal/rebuild.js';
import { nodeFileOps } from '../sinks/fs.js';
import { readExportRange, verifyExport, type ExportFailure, type ExportVerifyReport } from '../verify/export.js';
import { parseReceipt, proveFromExport, verifyReceipt } from '../verify/receipt.js';
import { checkLaneSet, hasOwnCheckpoint, laneDirNames, type LaneEntry } from '../verify/lanes.js';
import { compareWalWithExport } from '../verify/wal-export.js';
import { PG_MIGRATE_HELP, pgMigrateCommand, pgVerifyCommand } from './pg.js';
import { keysFromFlags } from './trust.js';

/**
 * ronctl: argv → library call → exit code. Every command is a thin shell over a library function
 * (verifyExport, readExportRange, proveFromExport, verifyReceipt, replayWalToExport, the keystore,
 * loadConfigFile → resolveConfig); tests call main() directly. docs/cli.md documents each command.
 *
 * Exit codes: 0 success; 1 the check failed (verification, invalid config, refused); 2 usage or
 * I/O error (bad flags, unreadable files).
 */

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown; readonly isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Show progress lines (default: whether stderr is a terminal). */
  readonly isTTY?: boolean;
}

/**
 * The process's streams as CliIo, for bin/ronctl.cjs. A reader that goes away early
 * (`ronctl audit range … | head -2`) makes the next write fail with EPIPE: from then on output
 * is dropped quietly and the command still ends with its own exit status (a cut-off listing must
 * not turn a failed verification into a success, nor print a stack trace).
 */
export function processIo(proc: NodeJS.Process): CliIo {
  const quiet = (stream: NodeJS.WriteStream): CliIo['stdout'] => {
    let gone = false;
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      gone = true;
    });
    return { write: (s: string) => (gone ? true : stream.write(s)) };
  };
  return { stdout: quiet(proc.stdout), stderr: Object.assign(quiet(proc.stderr), { isTTY: proc.stderr.isTTY === true }), env: proc.env, cwd: proc.cwd() };
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

class UsageError extends Error {}

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };
type Values = Record<string, string | boolean | string[] | undefined>;

interface Command {
  readonly group: string;
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  readonly options: Record<string, OptionSpec>;
  /** Allowed positional arguments (names, for the help and the check). */
  readonly positionals?: readonly string[];
  run(values: Values, positionals: string[], ctx: Context): Promise<number>;
}

class Context {
  constructor(readonly io: CliIo) {}

  out(line: string): void {
    this.io.stdout.write(`${line}\n`);
  }

  err(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  path(p: string): string {
    return resolve(this.io.cwd, p);
  }

  get tty(): boolean {
    return this.io.isTTY ?? this.io.stderr.isTTY === true;
  }

  /** A progress reporter: one rewritten line on a terminal, nothing otherwise. */
  progress(label: string): { tick(done: number, total?: number): void; end(): void } {
    if (!this.tty) return { tick: () => undefined, end: () => undefined };
    let last = 0;
    let shown = false;
    return {
      tick: (done, total) => {
        const now = Date.now();
        if (now - last < 200 && (total === undefined || done < total)) return;
        last = now;
        shown = true;
        const pct = total ? ` (${Math.floor((100 * done) / Math.max(total, 1))}%)` : '';
        this.io.stderr.write(`\r${label}: ${done.toLocaleString('en-US')}${total !== undefined ? ` / ${total.toLocaleString('en-US')}` : ''} records${pct}\x1b[K`);
      },
      end: () => {
        if (shown) this.io.stderr.write('\r\x1b[K');
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Shared flag handling

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function required(values: Values, name: string): string {
  const v = str(values, name);
  if (v === undefined || v.length === 0) throw new UsageError(`--${name} is required`);
  return v;
}

/** RFC 3339 (any offset) or milliseconds since the epoch. */
/** --workers N: a whole number 0–64, or undefined for the verifier's default. */
function workersOf(values: Values): number | undefined {
  const text = str(values, 'workers');
  if (text === undefined) return undefined;
  if (!/^(0|[1-9][0-9]?)$/.test(text) || Number(text) > 64) throw new UsageError(`--workers: expected a number of threads from 0 to 64, got ${JSON.stringify(text)}`);
  return Number(text);
}

function parseTime(flag: string, text: string): number {
  if (/^[0-9]+$/.test(text)) return Number(text);
  // A time of day without a zone would be read in this machine's local zone: refused, so the
  // window never depends on where ronctl runs (a date alone is midnight UTC, as RFC 3339 full-date).
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/i.test(text)) {
    throw new UsageError(`--${flag}: ${JSON.stringify(text)} has no time zone; add Z (UTC) or an offset such as +01:00 (records' times are UTC)`);
  }
  const t = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/i.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(t)) throw new UsageError(`--${flag}: expected an RFC 3339 time (e.g. 2026-11-27T06:00:00Z) or milliseconds since the epoch, got ${JSON.stringify(text)}`);
  return t;
}

function parseSeq(text: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--seq: expected a record number (0, 1, 2, …), got ${JSON.stringify(text)}`);
  return Number(text);
}

const KEY_OPTIONS: Record<string, OptionSpec> = {
  key: { type: 'string', multiple: true },
  'key-file': { type: 'string', multiple: true },
  'keystore-dir': { type: 'string' },
};

const KEY_HELP = `Trusted keys (one of):
  --key VKEY            a verifier key of the log (repeatable). Auditor mode: the trust root,
                        obtained out of band (ronctl kms list prints it when the log is deployed).
  --key-file FILE       verifier keys, one per line (# comments allowed; repeatable)
  --keystore-dir DIR    operator mode: trust the keys of this keystore for the log's origin
                        (default when AUDIT_KEYSTORE_DIR is set and no --key is given). An
                        auditor should not use it: keys found next to the data prove nothing.`;

/**
 * The keys to trust. Never keys found next to the data: --key/--key-file (the auditor's trust
 * root), or the operator's own keystore when asked for (flag or AUDIT_KEYSTORE_DIR).
 */
async function trustedKeys(values: Values, ctx: Context, originOf: () => Promise<string>): Promise<string[]> {
  const keys = await keysFromFlags(
    (values['key'] as string[] | undefined) ?? [],
    (values['key-file'] as string[] | undefined) ?? [],
    (file) => ctx.path(file),
    (message) => new UsageError(message),
  );
  if (keys.length > 0) return keys;
  const keystore = str(values, 'keystore-dir') ?? ctx.io.env['AUDIT_KEYSTORE_DIR'];
  if (keystore === undefined || keystore.length === 0) {
    throw new UsageError('no trusted key: pass --key VKEY or --key-file FILE (the log\'s verifier key, as an auditor), or --keystore-dir DIR (operator mode)');
  }
  // A keystore holds keys, not the origin they sign for: AUDIT_ORIGIN, when set, says which log
  // (and its lanes) they are this host's keys for, so an export of any other log is key_untrusted
  // (issue 14 item 10). Without it, the export's own origin is taken, and the note says so.
  const named = await originOf();
  const configured = ctx.io.env['AUDIT_ORIGIN'];
  const pinned = configured !== undefined && configured.length > 0;
  const own = pinned && (named === configured || (named.startsWith(`${configured}/lane-`) && /^(0|[1-9][0-9]{0,4})$/.test(named.slice(configured.length + 6))));
  const origin = pinned && !own ? configured : named;
  const dir = ctx.path(keystore);
  const found = (await listKeys(dir)).map((k) => formatVerifierKey(origin, k.publicKey));
  if (found.length === 0) throw new UsageError(`keystore ${dir} holds no keys`);
  const whence = pinned ? `AUDIT_ORIGIN ${configured}${own ? '' : `, not ${named} as the export says`}` : `the export's checkpoint (set AUDIT_ORIGIN to pin the log these keys sign for)`;
  ctx.err(`note: operator mode: trusting the ${found.length} key(s) of keystore ${dir} for ${origin} (from ${whence}); an auditor passes --key with the verifier key obtained when the log was deployed`);
  return found;
}

async function exportOrigin(ctx: Context, exportDir: string): Promise<string> {
  const raw = await readOptional(nodeFileOps, resolve(exportDir, 'checkpoint'));
  if (raw === null) throw new UsageError(`${exportDir} has no checkpoint: is it an export directory?`);
  try {
    return parseCheckpointNote(raw).checkpoint.origin;
  } catch (err) {
    throw new AuditError('AUDIT_VERIFY_FAILED', `cannot read the origin from ${exportDir}/checkpoint: ${(err as Error).message}`);
  }
}

function formatAge(ms: number | null): string {
  if (ms === null) return 'of unknown age';
  if (ms < 0) return `${formatDuration(-ms)} in the future (clock skew?)`;
  return `${formatDuration(ms)} old`;
}

function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return `${Math.round(ms)}ms`;
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

function failureLines(f: ExportFailure): string[] {
  const lines = [`FAIL: ${f.reason}: ${f.message}`];
  if (f.firstSeq !== null) lines.push(`  range:  seq ${f.firstSeq}–${f.lastSeq}`);
  if (f.seq !== null) lines.push(`  record: seq ${f.seq}${f.time !== null ? `, time ${f.time}` : ''}`);
  return lines;
}

function okLine(r: ExportVerifyReport): string {
  return `OK: ${r.verified} records verified, checkpoint size ${r.size}, newest checkpoint ${formatAge(r.checkpointAgeMs)}`;
}

// ---------------------------------------------------------------------------------------------
// audit

const auditVerify: Command = {
  group: 'audit',
  name: 'verify',
  summary: 'verify an export directory: signatures, key history, chain, tree, tiles',
  help: `Usage: ronctl audit verify --export-dir DIR [--full | --since TS --until TS]
                          [--key VKEY ... | --key-file FILE | --keystore-dir DIR]
                          [--trusted-checkpoint FILE] [--wal-dir DIR] [--workers N] [--json]

Verifies the export (docs/format.md §10): the checkpoint's signature under the keys trusted at
its size (walking key announcements and retirements from the trust root, §12), every record's
canonical form, version, seq, chain link and member rules (§2.2), the Merkle root, and every
hash tile present.

  --export-dir DIR          the export directory (AUDIT_EXPORT_DIR). With worker lanes
                            (AUDIT_WORKERS > 0) it holds one export per lane, lane-<i>/: each
                            is verified (and --wal-dir's lane-<i>/ compared), then the lanes as
                            a set (none missing, extra or swapped, format §1); exit 0 only if
                            all verify. A checkpoint of its own next to lane-<i>/ folders is
                            verified too
  --full                    check every hash tile too (the default without --since/--until)
  --since TS, --until TS    count the records whose time is in the window. The chain and the
                            tree are still checked from seq 0 (each link depends on the one
                            before it), but tiles are not compared unless --full is given.
                            TS: RFC 3339 (2026-11-27T06:00:00Z) or milliseconds since the epoch
  --trusted-checkpoint FILE a signed checkpoint you saw earlier: the log must be at least that
                            large and extend it (detects roll-back and forks)
  --wal-dir DIR             also check that the write-ahead log holds exactly the published records
  --workers N               threads that check whole 256-record bundles in parallel (0: none).
                            Default: one per core, at most 4, from 262,144 records up. The
                            verdict and the report are the same for every N
  --json                    print the report as JSON
  --pg URL                  verify a PostgreSQL audit database instead of an export directory
                            (its own flags: ronctl audit verify --pg URL --help)
${KEY_HELP}

Exit status: 0 everything verifies ("OK: …"); 1 verification failed ("FAIL: <reason>: …",
naming the first bad seq range, record and time, values shown as JSON); 2 usage or I/O error
(a key given twice included).`,
  options: {
    'export-dir': { type: 'string' },
    full: { type: 'boolean' },
    since: { type: 'string' },
    until: { type: 'string' },
    'trusted-checkpoint': { type: 'string' },
    'wal-dir': { type: 'string' },
    workers: { type: 'string' },
    json: { type: 'boolean' },
    ...KEY_OPTIONS,
  },
  async run(values, _pos, ctx) {
    const dir = ctx.path(required(values, 'export-dir'));
    workersOf(values); // a bad --workers is a usage error before any file is read
    const walDir = str(values, 'wal-dir') === undefined ? undefined : ctx.path(str(values, 'wal-dir')!);
    // An engine with worker lanes exports one log per lane under <dir>/lane-<i> (docs/scaling.md).
    const lanes = await laneDirNames(nodeFileOps, dir);
    const top = await hasOwnCheckpoint(nodeFileOps, dir);
    if (lanes.length === 0) return (await verifyExportDir(values, ctx, dir, walDir, '')).code;
    const json = values['json'] === true;
    // Both a checkpoint and lane folders: the in-thread log that was there before AUDIT_WORKERS
    // went from 0 to N, and the lanes. Both are checked (docs/cli.md): verifying only one would
    // let the other be damaged unseen.
    let failed = false;
    let topJson: unknown;
    if (top) {
      const collect: unknown[] = [];
      const r = await verifyExportDir(values, ctx, dir, walDir, 'top-level: ', json ? collect : undefined);
      failed ||= r.code !== EXIT_OK;
      topJson = collect[0];
    }
    let records = 0;
    let laneFailed = false;
    const reports: unknown[] = [];
    const entries: LaneEntry[] = [];
    let untrustedLanes = 0;
    for (const lane of lanes) {
      const r = await verifyExportDir(values, ctx, join(dir, lane), walDir === undefined ? undefined : join(walDir, lane), `${lane}: `, json ? reports : undefined);
      laneFailed ||= r.code !== EXIT_OK;
      if (r.report?.failure?.reason === 'key_untrusted') untrustedLanes++;
      records += r.verified;
      entries.push({ name: lane, origin: r.report?.origin ?? null, lane: r.report?.lane ?? null, time: r.report?.checkpointTime ?? null });
    }
    // Each lane is a complete log on its own: only the set check sees a lane deleted, added or moved.
    const set = checkLaneSet(entries);
    failed ||= laneFailed || set.failure !== null;
    if (json) {
      ctx.out(JSON.stringify({ ok: !failed, ...(top ? { top: topJson } : {}), lanes: reports, set: { ok: set.failure === null, count: set.count, base: set.base, failure: set.failure } }));
      return failed ? EXIT_FAILED : EXIT_OK;
    }
    if (set.failure !== null) {
      ctx.out(`FAIL: ${set.failure.reason}: ${set.failure.message}`);
    } else if (set.count === null) {
      ctx.out(`note: no lane's checkpoint has a "lane" line (written before format §5 had it): a deleted or added lane cannot be detected until every lane has signed again`);
    } else {
      ctx.out(`set: lane-0 … lane-${set.count - 1} of ${set.base ?? '?'}, all present`);
    }
    // The usual dead end: one verifier key given for a set of lanes, each of which is its own log.
    if (untrustedLanes > 0 && set.base !== null) ctx.out(`hint: each lane is its own log ${set.base}/lane-<i> with its own verifier key (one signing key); print them all with: ronctl kms list --origin ${set.base} --lanes ${lanes.length} --vkeys > trust.vkeys — then pass --key-file trust.vkeys (docs/cli.md)`);
    const what = `${lanes.length} lane${lanes.length === 1 ? '' : 's'}${top ? ' and the top-level log' : ''}`;
    if (laneFailed || (top && failed && set.failure === null)) ctx.out(`FAIL: ${what}, at least one does not verify`);
    else if (set.failure !== null) ctx.out(`FAIL: ${what} verified, but not as one complete set of lanes`);
    else ctx.out(`OK: ${what}, ${records} records verified`);
    return failed ? EXIT_FAILED : EXIT_OK;
  },
};

/** Verify one export directory and print its report (each line prefixed, for lanes); JSON reports go to `collect` when given. */
async function verifyExportDir(values: Values, ctx: Context, dir: string, walDir: string | undefined, prefix: string, collect?: unknown[]): Promise<{ code: number; verified: number; report?: ExportVerifyReport }> {
  const since = str(values, 'since') === undefined ? undefined : parseTime('since', str(values, 'since')!);
  const until = str(values, 'until') === undefined ? undefined : parseTime('until', str(values, 'until')!);
  if (since !== undefined && until !== undefined && until < since) throw new UsageError('--until is before --since');
  const trustedFile = str(values, 'trusted-checkpoint');
  const trustedCheckpoint = trustedFile === undefined ? undefined : await readFile(ctx.path(trustedFile), 'utf8');
  const keys = await trustedKeys(values, ctx, () => exportOrigin(ctx, dir));
  const windowed = since !== undefined || until !== undefined;
  const workers = workersOf(values);
  const progress = ctx.progress(`verifying${prefix ? ` ${prefix.slice(0, -2)}` : ''}`);
  let report: ExportVerifyReport;
  try {
    report = await verifyExport({
      dir,
      keys,
      full: values['full'] === true || !windowed,
      onProgress: (d, t) => progress.tick(d, t),
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      ...(trustedCheckpoint !== undefined ? { trustedCheckpoint } : {}),
      ...(workers !== undefined ? { workers } : {}),
    });
  } finally {
    progress.end();
  }
  let wal: Awaited<ReturnType<typeof compareWalWithExport>> | undefined;
  if (walDir !== undefined && report.ok) wal = await compareWalWithExport({ walDir, exportDir: dir, size: report.size, keys: report.keysTrusted });
  const ok = report.ok && (wal === undefined || wal.ok);
  const code = ok ? EXIT_OK : EXIT_FAILED;
  const out = (line: string) => ctx.out(`${prefix}${line}`);
  if (values['json'] === true) {
    const json = { ...report, ok, ...(wal !== undefined ? { wal } : {}) };
    if (collect) collect.push(json);
    else ctx.out(JSON.stringify(json));
    return { code, verified: report.verified, report };
  }
  if (!report.ok) {
    for (const l of failureLines(report.failure!)) out(l);
    return { code, verified: report.verified, report };
  }
  if (wal !== undefined && !wal.ok) {
    out(`FAIL: wal_mismatch: ${wal.mismatch!.message}`);
    out(`  record: seq ${wal.mismatch!.seq}`);
    return { code, verified: report.verified, report };
  }
  out(okLine(report));
  out(`  origin: ${report.origin}`);
  if (report.lane !== null) out(`  lane:   ${report.lane.index} of a set of ${report.lane.count}`);
  out(`  trusted keys at size ${report.size}: ${report.keysTrusted.join(', ')}`);
  if (windowed) {
    const from = since === undefined ? 'the start' : new Date(since).toISOString();
    const to = until === undefined ? 'now' : new Date(until).toISOString();
    out(`  window: ${report.inRange} records with time in [${from}, ${to}] (chain and tree checked from seq 0)`);
  }
  if (wal !== undefined) out(`  wal: agrees with the export on ${wal.compared} records; it holds ${wal.walRecords - report.size > 0 ? wal.walRecords - report.size : 0} more not yet published`);
  return { code, verified: report.verified, report };
}

const auditRange: Command = {
  group: 'audit',
  name: 'range',
  summary: 'verify the export, then print the records of a time window as JSON lines',
  help: `Usage: ronctl audit range --from TS --to TS --export-dir DIR
                         [--key VKEY ... | --key-file FILE | --keystore-dir DIR]

Verifies the whole export (as audit verify does, without the tile comparison), then prints
each record whose time is in [--from, --to] on its own line, as its canonical JSON bytes.
Nothing is printed unless the export verifies.

  --from TS, --to TS   the window, inclusive: RFC 3339 or milliseconds since the epoch
  --export-dir DIR     the export directory
${KEY_HELP}

Exit status: 0 verified (records on stdout, a summary on stderr); 1 verification failed;
2 usage or I/O error.`,
  options: { from: { type: 'string' }, to: { type: 'string' }, 'export-dir': { type: 'string' }, ...KEY_OPTIONS },
  async run(values, _pos, ctx) {
    const from = parseTime('from', required(values, 'from'));
    const to = parseTime('to', required(values, 'to'));
    if (to < from) throw new UsageError('--to is before --from');
    const dir = ctx.path(required(values, 'export-dir'));
    const keys = await trustedKeys(values, ctx, () => exportOrigin(ctx, dir));
    const progress = ctx.progress('verifying');
    let result: Awaited<ReturnType<typeof readExportRange>>;
    try {
      result = await readExportRange({ dir, keys, from, to, full: false, onProgress: (d, t) => progress.tick(d, t) });
    } finally {
      progress.end();
    }
    if (!result.report.ok) {
      for (const l of failureLines(result.report.failure!)) ctx.err(l);
      return EXIT_FAILED;
    }
    const dec = new TextDecoder();
    for (const r of result.records) ctx.out(dec.decode(r.bytes));
    ctx.err(`OK: ${result.records.length} records in [${new Date(from).toISOString()}, ${new Date(to).toISOString()}]; ${result.report.verified} records verified, checkpoint size ${result.report.size}`);
    return EXIT_OK;
  },
};

const auditProve: Command = {
  group: 'audit',
  name: 'prove',
  summary: 'print a receipt (c2sp.org/tlog-proof@v1) for one record',
  help: `Usage: ronctl audit prove --seq N --export-dir DIR
                         [--key VKEY ... | --key-file FILE | --keystore-dir DIR]

Prints the receipt of record N (docs/format.md §11): the record, its inclusion proof read from
the export's hash tiles, and the published signed checkpoint, which must verify with the key.
Check it anywhere with: ronctl audit verify-receipt FILE --key VKEY

Exit status: 0 printed; 1 the record is not under the checkpoint or the export is damaged;
2 usage or I/O error.`,
  options: { seq: { type: 'string' }, 'export-dir': { type: 'string' }, ...KEY_OPTIONS },
  async run(values, _pos, ctx) {
    const seq = parseSeq(required(values, 'seq'));
    const dir = ctx.path(required(values, 'export-dir'));
    const keys = await trustedKeys(values, ctx, () => exportOrigin(ctx, dir));
    ctx.io.stdout.write(await proveFromExport({ dir, seq, keys }));
    return EXIT_OK;
  },
};

const auditVerifyReceipt: Command = {
  group: 'audit',
  name: 'verify-receipt',
  summary: 'check a receipt offline',
  positionals: ['FILE'],
  help: `Usage: ronctl audit verify-receipt FILE [--key VKEY ... | --key-file FILE | --keystore-dir DIR] [--json]

Checks a receipt made by audit prove: the checkpoint's signature, the record's canonical form
and seq, and its inclusion proof. Pass the key that signed the receipt's checkpoint (after a key
rotation, the new key: a receipt does not carry the key history).

Exit status: 0 valid; 1 invalid (reason printed); 2 usage or I/O error.`,
  options: { json: { type: 'boolean' }, ...KEY_OPTIONS },
  async run(values, pos, ctx) {
    const file = pos[0];
    if (file === undefined) throw new UsageError('missing the receipt FILE');
    const text = await readFile(ctx.path(file), 'utf8');
    const keys = await trustedKeys(values, ctx, async () => {
      try {
        return parseCheckpointNote(parseReceipt(text).note).checkpoint.origin;
      } catch (err) {
        throw new UsageError(`${file}: ${(err as Error).message}`);
      }
    });
    const v = verifyReceipt(text, keys);
    if (values['json'] === true) {
      ctx.out(JSON.stringify({ ok: v.ok, seq: v.seq, record: v.record, checkpoint: v.checkpoint && { origin: v.checkpoint.origin, size: v.checkpoint.size, time: v.checkpoint.time ?? null }, failure: v.failure ?? null }));
    } else if (v.ok) {
      const cp = v.checkpoint!;
      ctx.out(`OK: record ${v.seq} is in ${cp.origin} under the checkpoint of size ${cp.size}${cp.time !== undefined ? ` signed ${new Date(cp.time).toISOString()}` : ''}`);
    } else {
      ctx.out(`FAIL: ${v.failure!.reason}: ${v.failure!.message}`);
    }
    return v.ok ? EXIT_OK : EXIT_FAILED;
  },
};

const auditReplay: Command = {
  group: 'audit',
  name: 'replay',
  summary: 'rebuild (or bring up to date) an export from an intact write-ahead log',
  help: `Usage: ronctl audit replay --wal-dir DIR --export-dir DIR

Hands every WAL record after the export's checkpoint to the export writer and publishes the
WAL's checkpoints (runbook §6.2: restore the export set, replay to head, re-verify). An empty
or new export directory is rebuilt from seq 0. Records after the WAL's last checkpoint frame
are not signed yet and are not exported. Verify the result with ronctl audit verify.

Exit status: 0 replayed; 1 the WAL is inconsistent; 2 usage or I/O error.`,
  options: { 'wal-dir': { type: 'string' }, 'export-dir': { type: 'string' } },
  async run(values, _pos, ctx) {
    const walDir = ctx.path(required(values, 'wal-dir'));
    const exportDir = ctx.path(required(values, 'export-dir'));
    const progress = ctx.progress('replaying');
    let r: Awaited<ReturnType<typeof replayWalToExport>>;
    try {
      r = await replayWalToExport({ walDir, exportDir, onProgress: (n) => progress.tick(n) });
    } finally {
      progress.end();
    }
    ctx.out(`OK: export ${exportDir} at checkpoint size ${r.publishedSize} (was ${r.fromSize}); the WAL holds ${r.walRecords} records${r.unsigned > 0 ? `, ${r.unsigned} after its last checkpoint (not exported)` : ''}`);
    ctx.out(`next: ronctl audit verify --export-dir ${exportDir} --key <verifier key>`);
    return EXIT_OK;
  },
};

/** Run a WAL tool that verifies the export first: a failed verification prints FAIL (exit 1), a bad argument is a usage error (exit 2). */
async function walTool<T>(ctx: Context, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (isAuditError(err, 'AUDIT_VERIFY_FAILED')) {
      ctx.out(`FAIL: ${err.message}`);
      return undefined;
    }
    if (isAuditError(err, 'AUDIT_INVALID_ARGUMENT')) throw new UsageError(err.message);
    throw err;
  }
}

const auditWalRebuild: Command = {
  group: 'audit',
  name: 'wal-rebuild',
  summary: 'write a new write-ahead log from an export that verifies (after AUDIT_WAL_CORRUPT)',
  help: `Usage: ronctl audit wal-rebuild --export-dir DIR --wal-dir DIR
                         [--key VKEY ... | --key-file FILE | --keystore-dir DIR]

Verifies the whole export, then writes its records and its published checkpoint into a new
write-ahead log in --wal-dir (which must be empty or missing), as one commit of protocol 2
(docs/format.md §9). For an engine refused with AUDIT_WAL_CORRUPT: move the damaged WAL aside
(keep it: it is the evidence), rebuild, restart. Records the damaged WAL held beyond the
export's checkpoint were never published and are not in the new WAL.
${KEY_HELP}

Exit status: 0 rebuilt; 1 the export does not verify; 2 usage or I/O error (a --wal-dir that
holds segments is a usage error).`,
  options: { 'wal-dir': { type: 'string' }, 'export-dir': { type: 'string' }, ...KEY_OPTIONS },
  async run(values, _pos, ctx) {
    const walDir = ctx.path(required(values, 'wal-dir'));
    const exportDir = ctx.path(required(values, 'export-dir'));
    const keys = await trustedKeys(values, ctx, () => exportOrigin(ctx, exportDir));
    const r = await walTool(ctx, () => rebuildWalFromExport({ exportDir, walDir, keys }));
    if (r === undefined) return EXIT_FAILED;
    ctx.out(`OK: wrote ${join(walDir, r.segment)}: log ${r.origin}, ${r.size} records under the export's checkpoint`);
    ctx.out('next: start the host with AUDIT_WAL_DIR set to it; it recovers and continues the log');
    return EXIT_OK;
  },
};

const auditWalPrune: Command = {
  group: 'audit',
  name: 'wal-prune',
  summary: 'remove the oldest write-ahead log segments the export already holds',
  help: `Usage: ronctl audit wal-prune --wal-dir DIR --export-dir DIR
                         [--key VKEY ... | --key-file FILE | --keystore-dir DIR]

Verifies the export, then removes the oldest WAL segments all of whose records it holds, as long
as the next segment's header carries the log's state and a checkpoint frame (docs/format.md §9.5),
so the engine can start from it. The newest segment always stays. Safe while the host runs. With
PostgreSQL shipping, prune only when audit_ship_lag_records is 0.
${KEY_HELP}

Exit status: 0 pruned (or nothing to prune); 1 the export does not verify; 2 usage or I/O error.`,
  options: { 'wal-dir': { type: 'string' }, 'export-dir': { type: 'string' }, ...KEY_OPTIONS },
  async run(values, _pos, ctx) {
    const walDir = ctx.path(required(values, 'wal-dir'));
    const exportDir = ctx.path(required(values, 'export-dir'));
    const keys = await trustedKeys(values, ctx, () => exportOrigin(ctx, exportDir));
    const r = await walTool(ctx, () => pruneWal({ walDir, exportDir, keys }));
    if (r === undefined) return EXIT_FAILED;
    ctx.out(`OK: removed ${r.removed.length} segment(s)${r.removed.length > 0 ? ` (${r.removed[0]} … ${r.removed.at(-1)})` : ''}, kept ${r.kept}; the export holds ${r.exportSize} records`);
    return EXIT_OK;
  },
};

// ---------------------------------------------------------------------------------------------
// kms

const KEYSTORE_HELP = `  --keystore-dir DIR   the keystore (default: AUDIT_KEYSTORE_DIR, else ${DEFAULT_KEYSTORE_DIR})
  --origin O           the log's origin, to print its verifier key (default: AUDIT_ORIGIN)`;

function keystoreDir(values: Values, ctx: Context): string {
  return ctx.path(str(values, 'keystore-dir') ?? ctx.io.env['AUDIT_KEYSTORE_DIR'] ?? DEFAULT_KEYSTORE_DIR);
}

function originFor(values: Values, ctx: Context): string | undefined {
  const o = str(values, 'origin') ?? ctx.io.env['AUDIT_ORIGIN'];
  if (o === undefined || o.length === 0) return undefined;
  if (!isValidOrigin(o)) throw new UsageError(`--origin ${JSON.stringify(o)}: expected printable ASCII without spaces or "+", 1–255 bytes`);
  return o;
}

function aliasOf(values: Values): string {
  const alias = required(values, 'key-alias');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(alias)) throw new UsageError(`--key-alias ${JSON.stringify(alias)}: expected 1–64 characters from [A-Za-z0-9._-]`);
  return alias;
}

const kmsKeygen: Command = {
  group: 'kms',
  name: 'keygen',
  summary: 'create a signing key (Ed25519; --pq adds its ML-DSA-44 companion) in the local keystore',
  help: `Usage: ronctl kms keygen --key-alias ALIAS [--pq] [--keystore-dir DIR] [--origin O]

Creates <DIR>/<ALIAS>.key (mode 0600, directory 0700): a new Ed25519 key. Refuses to overwrite.
With --pq, also creates <DIR>/<ALIAS>.mldsa44, the ML-DSA-44 key that AUDIT_PQ_SIGN=true signs
with next to the Ed25519 one (docs/format.md §6.1); an existing <ALIAS>.key is kept, so --pq
adds the companion to a key in use. With --origin, prints the verifier keys auditors need
(store them with them, not with the log).
${KEYSTORE_HELP}

Exit status: 0 created; 1 the key (or, with --pq, its companion) exists; 2 usage or I/O error.`,
  options: { 'key-alias': { type: 'string' }, pq: { type: 'boolean' }, 'keystore-dir': { type: 'string' }, origin: { type: 'string' } },
  async run(values, _pos, ctx) {
    const alias = aliasOf(values);
    const origin = originFor(values, ctx);
    const dir = keystoreDir(values, ctx);
    const pq = values['pq'] === true;
    const existing = pq ? (await listKeys(dir)).find((k) => k.alias === alias) : undefined;
    const info = existing ?? (await generateKey(dir, alias));
    ctx.out(existing ? `kept the existing key ${alias} in ${dir}` : `created key ${alias} in ${dir}`);
    ctx.out(`  public key:   ${toBase64(info.publicKey)}`);
    if (origin !== undefined) ctx.out(`  verifier key: ${formatVerifierKey(origin, info.publicKey)}`);
    if (pq) {
      const pqInfo = await generatePqKey(dir, alias);
      ctx.out(`created ML-DSA-44 key ${alias}.mldsa44 in ${dir} (signs with ${alias} when AUDIT_PQ_SIGN=true)`);
      if (origin !== undefined) ctx.out(`  ML-DSA-44 verifier key: ${formatVerifierKey(origin, pqInfo.publicKey, 'ml-dsa-44')}`);
    }
    if (origin === undefined) ctx.out('  (pass --origin or set AUDIT_ORIGIN to print the verifier key for your log)');
    return EXIT_OK;
  },
};

interface KeyRow {
  alias: string;
  algorithm: 'ed25519' | 'ml-dsa-44';
  created: string;
  publicKey: string;
  verifierKey?: string;
  /** With --lanes N: the verifier key of each lane's log, <origin>/lane-<i>. */
  laneVerifierKeys?: string[];
}

const kmsList: Command = {
  group: 'kms',
  name: 'list',
  summary: 'list the keystore: alias, created, public key, verifier key (per lane with --lanes)',
  help: `Usage: ronctl kms list [--keystore-dir DIR] [--origin O] [--lanes N] [--vkeys] [--json]

Lists every key of the keystore — the Ed25519 keys (<alias>.key) and their ML-DSA-44 companions
(<alias>.mldsa44) — with creation time, public key and, with --origin (or AUDIT_ORIGIN), its
verifier key for that log: the trust root to hand to auditors.

  --lanes N   the log runs N worker lanes (AUDIT_WORKERS=N): each lane is its own log
              <origin>/lane-<i>, signed by the same key, so each has its own verifier key; list
              those too (default: AUDIT_WORKERS when it is above 0)
  --vkeys     print only the verifier keys, one per line: the format of --key-file, e.g.
              ronctl kms list --origin O --lanes 4 --vkeys > trust.vkeys
              ronctl audit verify --export-dir DIR --key-file trust.vkeys
${KEYSTORE_HELP}

Exit status: 0 listed (also when empty); 1 a key file is unreadable or malformed; 2 usage error.`,
  options: { 'keystore-dir': { type: 'string' }, origin: { type: 'string' }, lanes: { type: 'string' }, vkeys: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(values, _pos, ctx) {
    const dir = keystoreDir(values, ctx);
    const origin = originFor(values, ctx);
    const lanes = lanesFor(values, ctx);
    const vkeysOnly = values['vkeys'] === true;
    if ((vkeysOnly || lanes > 0) && origin === undefined) throw new UsageError(`--${vkeysOnly ? 'vkeys' : 'lanes'} needs the log's origin: pass --origin O or set AUDIT_ORIGIN`);
    const row = (k: { alias: string; created: string; publicKey: Uint8Array }, algorithm: KeyRow['algorithm']): KeyRow => ({
      alias: k.alias,
      algorithm,
      created: k.created,
      publicKey: toBase64(k.publicKey),
      ...(origin !== undefined ? { verifierKey: formatVerifierKey(origin, k.publicKey, algorithm) } : {}),
      ...(origin !== undefined && lanes > 0 ? { laneVerifierKeys: Array.from({ length: lanes }, (_, i) => formatVerifierKey(laneOrigin(origin, i), k.publicKey, algorithm)) } : {}),
    });
    const rows = [...(await listKeys(dir)).map((k) => row(k, 'ed25519')), ...(await listPqKeys(dir)).map((k) => row(k, 'ml-dsa-44'))];
    if (values['json'] === true) {
      ctx.out(JSON.stringify({ keystore: dir, origin: origin ?? null, ...(lanes > 0 ? { lanes } : {}), keys: rows }));
      return EXIT_OK;
    }
    if (rows.length === 0) {
      (vkeysOnly ? ctx.err.bind(ctx) : ctx.out.bind(ctx))(`no keys in ${dir} (create one: ronctl kms keygen --key-alias NAME --keystore-dir ${dir})`);
      return EXIT_OK;
    }
    for (const r of rows) {
      if (vkeysOnly) {
        ctx.out(r.verifierKey!);
        for (const v of r.laneVerifierKeys ?? []) ctx.out(v);
        continue;
      }
      const name = r.algorithm === 'ed25519' ? r.alias : `${r.alias}.mldsa44`;
      ctx.out(`${name}\t${r.created}\t${r.publicKey}${r.verifierKey !== undefined ? `\t${r.verifierKey}` : ''}`);
      (r.laneVerifierKeys ?? []).forEach((v, i) => ctx.out(`${name}\tlane-${i}\t\t${v}`));
    }
    return EXIT_OK;
  },
};

/** The origin of lane i of a laned log (docs/scaling.md: `<origin>/lane-<i>`). */
function laneOrigin(origin: string, i: number): string {
  return `${origin}/lane-${i}`;
}

function lanesFor(values: Values, ctx: Context): number {
  const flag = str(values, 'lanes');
  const text = flag ?? ctx.io.env['AUDIT_WORKERS'];
  if (text === undefined || text.length === 0) return 0;
  const n = /^(0|[1-9][0-9]?)$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 0 && n <= MAX_WORKERS)) throw new UsageError(`${flag !== undefined ? '--lanes' : 'AUDIT_WORKERS'} ${JSON.stringify(text)}: expected a number of lanes from 0 to ${MAX_WORKERS}`);
  return n;
}

const kmsRotate: Command = {
  group: 'kms',
  name: 'rotate',
  summary: 'create the next signing key and print the rotation steps',
  help: `Usage: ronctl kms rotate --key-alias NEW [--keystore-dir DIR] [--origin O]

Creates NEW in the keystore, like keygen, and prints what happens next (docs/format.md §12):
restart or reload the host with AUDIT_KEY_ID=NEW; the engine appends a key announcement signed
by the current key, signs the following checkpoints with both keys, and retires the old key
once two checkpoints carry NEW. Keep the old key file until then. Auditors keep their trust root.
${KEYSTORE_HELP}

Exit status: 0 created; 1 the alias exists; 2 usage or I/O error.`,
  options: { 'key-alias': { type: 'string' }, 'keystore-dir': { type: 'string' }, origin: { type: 'string' } },
  async run(values, _pos, ctx) {
    const alias = aliasOf(values);
    const origin = originFor(values, ctx);
    const dir = keystoreDir(values, ctx);
    const current = ctx.io.env['AUDIT_KEY_ID'];
    const info = await generateKey(dir, alias);
    ctx.out(`created key ${alias} in ${dir}`);
    ctx.out(`  public key:   ${toBase64(info.publicKey)}`);
    if (origin !== undefined) ctx.out(`  verifier key: ${formatVerifierKey(origin, info.publicKey)}`);
    ctx.out('next:');
    ctx.out(`  1. restart (or reload) the host with AUDIT_KEY_ID=${alias}${current !== undefined && current !== alias ? ` (now ${current})` : ''}`);
    ctx.out(`  2. the engine appends a ron-audit.key.announce record signed by the current key, then signs`);
    ctx.out(`     checkpoints with both keys; after two checkpoints signed by ${alias} it appends`);
    ctx.out('     ron-audit.key.retire and drops the old key');
    ctx.out('  3. keep the old key file until the retirement record is in the export; then archive it');
    ctx.out('  4. auditors change nothing: verification walks the announcement from their trust root');
    ctx.out(`     (check: ronctl audit verify --export-dir <dir> --key <trust root>)`);
    return EXIT_OK;
  },
};

// ---------------------------------------------------------------------------------------------
// config

type ConfigKey = keyof typeof CONFIG_KEYS;
const ENV_TO_KEY = new Map<string, ConfigKey>(Object.entries(CONFIG_KEYS).map(([k, spec]) => [spec.env, k as ConfigKey]));

function describeValue(cfg: AuditConfig, key: ConfigKey): string {
  const v = cfg[key];
  // A database URL may carry a password: never print it.
  return typeof v === 'string' ? redactUrlPassword(v) : v === undefined ? '(not set)' : String(v);
}

const configCheck: Command = {
  group: 'config',
  name: 'check',
  summary: 'validate a host config file the way the engine would',
  positionals: ['FILE'],
  help: `Usage: ronctl config check FILE [--json]

Validates the audit settings of FILE exactly as the engine does at start and on reload
(loadConfigFile → resolveConfig), and prints the resolved configuration. FILE is either
  - TOML (name ends in .toml, e.g. /etc/ron/<host>.toml): top-level AUDIT_* keys
    (AUDIT_QUEUE_DEPTH = 4096) and/or an [audit] table of option names (queue_depth = 4096 or
    queueDepth = 4096); other tables and keys belong to the host and are ignored; or
  - an environment file: KEY=value lines (optionally "export KEY=value", quoted values),
    # comments; variables not starting with AUDIT_ are ignored.
Only the file is read, not this shell's environment. An unknown AUDIT_* name is an error.

Exit status: 0 valid (resolved configuration printed); 1 invalid (the message names the
variable, the value and what is allowed); 2 FILE cannot be read.`,
  options: { json: { type: 'boolean' } },
  async run(values, pos, ctx) {
    const file = pos[0];
    if (file === undefined) throw new UsageError('missing the config FILE');
    const path = ctx.path(file);
    let loaded: LoadedConfig;
    try {
      loaded = await loadConfigFile(path);
    } catch (err) {
      if (isAuditError(err, 'AUDIT_CONFIG_INVALID') && err.details['io'] !== true) {
        if (values['json'] === true) ctx.out(JSON.stringify({ ok: false, file: path, error: err.message }));
        else ctx.out(`invalid: ${err.message}`);
        return EXIT_FAILED;
      }
      if (isAuditError(err, 'AUDIT_CONFIG_INVALID')) throw new UsageError(err.message);
      throw err;
    }
    const cfg = loaded.config;
    const parsed = loaded;
    const given = new Set<string>([...Object.keys(parsed.options), ...Object.keys(parsed.env).map((e) => ENV_TO_KEY.get(e)!)]);
    const rows = (Object.keys(CONFIG_KEYS) as ConfigKey[]).map((key) => ({
      key,
      env: CONFIG_KEYS[key].env,
      // The default origin has a fresh random part per engine start: show its shape, not one draw.
      value: key === 'origin' && !given.has('origin') ? 'ron-audit.local/<host>/<boot id> (chosen at each start)' : describeValue(cfg, key),
      source: given.has(key) ? 'file' : 'default',
    }));
    const redact = given.has('redact') ? 'custom' : 'default headers and keys';
    if (values['json'] === true) {
      ctx.out(JSON.stringify({ ok: true, file: path, config: Object.fromEntries(rows.map((r) => [r.key, { env: r.env, value: r.value, source: r.source }])), redact }));
      return EXIT_OK;
    }
    ctx.out(`OK: ${file} is a valid audit configuration`);
    const width = Math.max(...rows.map((r) => r.env.length));
    for (const r of rows) ctx.out(`  ${r.env.padEnd(width)} = ${r.value}${r.source === 'default' ? '  (default)' : ''}`);
    ctx.out(`  ${'redact'.padEnd(width)} = ${redact}`);
    return EXIT_OK;
  },
};

// ---------------------------------------------------------------------------------------------

const COMMANDS: readonly Command[] = [auditVerify, auditRange, auditProve, auditVerifyReceipt, auditReplay, auditWalRebuild, auditWalPrune, kmsKeygen, kmsList, kmsRotate, configCheck];
const GROUPS = ['audit', 'kms', 'config'] as const;

function topHelp(): string {
  const lines = ['Usage: ronctl <command> [options]', '', 'Commands:'];
  for (const c of COMMANDS) lines.push(`  ${`${c.group} ${c.name}`.padEnd(22)} ${c.summary}`);
  lines.push(`  ${'audit verify --pg'.padEnd(22)} verify every log in a PostgreSQL audit database`);
  lines.push(`  ${'pg migrate'.padEnd(22)} create the PostgreSQL audit schema, append-only triggers and roles`);
  lines.push('', "Run 'ronctl <command> --help' for a command's options (e.g. ronctl audit verify --help).");
  lines.push('Exit status: 0 success, 1 check failed, 2 usage or I/O error.');
  return lines.join('\n');
}

function groupHelp(group: string): string {
  const lines = [`Usage: ronctl ${group} <command> [options]`, '', 'Commands:'];
  for (const c of COMMANDS.filter((x) => x.group === group)) lines.push(`  ${c.name.padEnd(16)} ${c.summary}`);
  return lines.join('\n');
}

function errorExit(err: unknown, ctx: Context, cmd: Command | undefined): number {
  const hint = cmd ? `Run 'ronctl ${cmd.group} ${cmd.name} --help' for usage.` : "Run 'ronctl --help' for usage.";
  if (err instanceof UsageError) {
    ctx.err(`ronctl: ${err.message}\n${hint}`);
    return EXIT_USAGE;
  }
  if (err instanceof AuditError) {
    ctx.err(`ronctl: ${err.code}: ${err.message}`);
    switch (err.code) {
      case 'AUDIT_VERIFY_FAILED':
      case 'AUDIT_SIGNATURE_INVALID':
      case 'AUDIT_RANGE_UNAVAILABLE':
      case 'AUDIT_PROOF_INVALID':
      case 'AUDIT_WAL_CORRUPT':
      case 'AUDIT_KEY_UNAVAILABLE':
      case 'AUDIT_NOTE_MALFORMED':
      case 'AUDIT_CHECKPOINT_MALFORMED':
        return EXIT_FAILED;
      case 'AUDIT_KEY_INVALID':
        // An existing alias (keygen/rotate refuse to overwrite) is a refusal; a malformed key file or key string too.
        return EXIT_FAILED;
      default:
        return EXIT_USAGE;
    }
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    const path = (err as { path?: unknown }).path;
    ctx.err(`ronctl: cannot ${(err as { syscall?: string }).syscall ?? 'access'} ${typeof path === 'string' ? path : ''}: ${code}`.replace(/ {2,}/g, ' '));
    return EXIT_USAGE;
  }
  ctx.err(`ronctl: ${err instanceof Error ? err.message : String(err)}`);
  return EXIT_USAGE;
}

/** Run ronctl with `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx = new Context(io);
  const [first, second, ...rest] = argv;
  if (first === undefined) {
    ctx.err(topHelp());
    return EXIT_USAGE;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    ctx.out(topHelp());
    return EXIT_OK;
  }
  // PostgreSQL (cli/pg.ts): `audit verify --pg URL …` and `pg migrate …`.
  if (first === 'audit' && second === 'verify' && rest.some((a) => a === '--pg' || a.startsWith('--pg='))) return pgVerifyCommand(rest, io);
  if (first === 'pg') {
    if (second === 'migrate') return pgMigrateCommand(rest, io);
    ctx.err(`ronctl: unknown command "pg ${second ?? ''}"\n${PG_MIGRATE_HELP}`);
    return EXIT_USAGE;
  }
  if (!(GROUPS as readonly string[]).includes(first)) {
    ctx.err(`ronctl: unknown command ${JSON.stringify(first)}\n${topHelp()}`);
    return EXIT_USAGE;
  }
  if (second === undefined || second === '--help' || second === '-h') {
    if (second === undefined) {
      ctx.err(groupHelp(first));
      return EXIT_USAGE;
    }
    ctx.out(groupHelp(first));
    return EXIT_OK;
  }
  const cmd = COMMANDS.find((c) => c.group === first && c.name === second);
  if (cmd === undefined) {
    ctx.err(`ronctl: unknown command "${first} ${second}"\n${groupHelp(first)}`);
    return EXIT_USAGE;
  }
  let values: Values;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: rest, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    values = parsed.values as Values;
    positionals = parsed.positionals;
  } catch (err) {
    return errorExit(new UsageError((err as Error).message), ctx, cmd);
  }
  if (values['help'] === true) {
    ctx.out(cmd.help);
    return EXIT_OK;
  }
  const allowed = cmd.positionals?.length ?? 0;
  if (positionals.length > allowed) return errorExit(new UsageError(`unexpected argument ${JSON.stringify(positionals[allowed])}`), ctx, cmd);
  try {
    return await cmd.run(values, positionals, ctx);
  } catch (err) {
    return errorExit(err, ctx, cmd);
  }
}
