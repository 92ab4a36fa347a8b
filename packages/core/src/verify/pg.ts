import { checkFields, shown, type FieldFailureReason } from './fields.js';
import { applyKeyRecord, assertDistinctKeys, isKeyAction } from './key-trust.js';
import { installBackends } from '../backends.js';
import { DEFAULT_PG_SCHEMA } from '../config.js';
import { AuditError, invalidArgument } from '../errors.js';
import { isSealed, parseCheckpoint, type Checkpoint } from '../log/checkpoint.js';
import { genesis, nextLink } from '../log/chain.js';
import { getHashBackend } from '../prim/hash.js';
import { CompactRange, equalBytes } from '../log/merkle.js';
import type { VerifyFailureReason } from '../log/memory.js';
import { formatVerifierKey, openNote, parseNote, parseVerifierKey, type VerifierKey } from '../sign/note.js';
import { connectPg, pgError, type PgClient } from '../sinks/pg/driver.js';
import { PG_SCHEMA_VERSION, statements } from '../sinks/pg/schema.js';
import { CanonicalScanner } from './canonical-scan.js';

/**
 * verifyPg: verify every log in a PostgreSQL audit database (format §14) — no gap in seq, every
 * record canonical with the right v and seq, every prev link, every stored hash, the Merkle tree
 * against every shipped signed checkpoint (signatures under the keys trusted at that size, §12),
 * nothing after a seal — and classify each log's end: sealed (finished), live (covered by a
 * recent checkpoint) or possibly truncated (neither). Reads page by page: memory is O(log n)
 * per log plus one page. Never throws for bad data; throws for bad arguments and when the
 * database cannot be read (AUDIT_PG_UNAVAILABLE: not a finding about the logs).
 */

export type PgFailureReason = VerifyFailureReason | FieldFailureReason | 'malformed_checkpoint' | 'key_untrusted' | 'truncated' | 'gap' | 'hash_mismatch' | 'after_seal';

export interface PgFailure {
  readonly reason: PgFailureReason;
  readonly message: string;
  /** The seq range the failure is in; null when no record range applies. */
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly seq: number | null;
  readonly time: string | null;
}

/** sealed: finished by a graceful shutdown. live: its newest checkpoint is recent. possibly_truncated: neither. */
export type PgLogStatus = 'sealed' | 'live' | 'possibly_truncated';

export interface PgLogReport {
  /** No failure, and not possibly truncated. */
  readonly ok: boolean;
  readonly origin: string;
  readonly status: PgLogStatus;
  /** Records stored for the log. */
  readonly size: number;
  /** Records that passed every check and are under a verified signed checkpoint. */
  readonly verified: number;
  /** Of the records whose bytes were read, those whose `time` is in the window (all of them without one). */
  readonly inRange: number;
  /** Stored records beyond the newest checkpoint (chain-checked, not yet signed over). */
  readonly uncovered: number;
  readonly checkpointSize: number;
  readonly checkpointTime: number | null;
  readonly checkpointAgeMs: number | null;
  readonly sealed: boolean;
  readonly keysTrusted: string[];
  readonly failure: PgFailure | null;
}

export interface PgVerifyReport {
  /** Every log verifies and none is possibly truncated. */
  readonly ok: boolean;
  readonly logs: PgLogReport[];
  readonly verified: number;
  readonly inRange: number;
  readonly possiblyTruncated: string[];
  /** The first failing log's failure, with its origin. */
  readonly failure: (PgFailure & { readonly origin: string }) | null;
  readonly window: { readonly since: number | null; readonly until: number | null } | null;
}

export interface PgVerifyOptions {
  readonly url: string;
  /**
   * Trusted verifier keys (C2SP vkey strings). Each key's public key is trusted for every log in
   * the database: replicas share a signing key and each log's origin is bound by the signed
   * checkpoint text, so a key is re-named for each origin (format §14).
   */
  readonly keys: readonly string[];
  readonly schema?: string;
  /**
   * Window (ms since the epoch, inclusive) of record `time`s: only logs with a record in it are
   * verified, and only the records from the one before the window's first to its last are read
   * whole; the rest enter the tree as leaf hashes computed by the database from the stored bytes,
   * so every checkpoint still covers every stored record. Tampering outside the window then shows
   * as a root mismatch rather than naming the record: run without a window (or full) to find it.
   */
  readonly since?: number;
  readonly until?: number;
  /** Read every record whole, whatever the window (the default without a window). */
  readonly full?: boolean;
  /** An unsealed log whose newest checkpoint is older than this is possibly truncated. Default 10 minutes. */
  readonly staleAfterMs?: number;
  readonly crypto?: 'auto' | 'pure';
  readonly now?: () => number;
  readonly onProgress?: (origin: string, done: number) => void;
  /** Records per query page (default 5000). */
  readonly pageSize?: number;
}

export const DEFAULT_STALE_AFTER_MS = 10 * 60 * 1000;
const DEFAULT_PAGE = 5000;

class Found extends Error {
  constructor(readonly failure: PgFailure) {
    super(failure.message);
  }
}

function found(reason: PgFailureReason, message: string, range: [number, number] | null, seq: number | null = null, time: string | null = null): Found {
  return new Found({ reason, message, firstSeq: range?.[0] ?? null, lastSeq: range?.[1] ?? null, seq, time });
}

function checkOptions(o: PgVerifyOptions): void {
  if (o === null || typeof o !== 'object') throw invalidArgument('options', '{url, keys, since?, until?, full?}', o);
  if (typeof o.url !== 'string' || !/^postgres(ql)?:\/\/./.test(o.url) || !URL.canParse(o.url)) throw invalidArgument('url', 'a postgres:// or postgresql:// URL', o.url);
  if (!Array.isArray(o.keys) || o.keys.length === 0 || !o.keys.every((k) => typeof k === 'string')) throw invalidArgument('keys', 'a non-empty array of verifier key strings', o.keys);
  if (o.schema !== undefined && (typeof o.schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(o.schema))) throw invalidArgument('schema', 'a lowercase SQL identifier', o.schema);
  for (const name of ['since', 'until'] as const) {
    const v = o[name];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > 8.64e15)) throw invalidArgument(name, 'milliseconds since the epoch', v);
  }
  if (o.since !== undefined && o.until !== undefined && o.until < o.since) throw invalidArgument('until', `a time ≥ since (${new Date(o.since).toISOString()})`, o.until);
  if (o.full !== undefined && typeof o.full !== 'boolean') throw invalidArgument('full', 'a boolean', o.full);
  if (o.staleAfterMs !== undefined && (typeof o.staleAfterMs !== 'number' || !Number.isFinite(o.staleAfterMs) || o.staleAfterMs < 0)) throw invalidArgument('staleAfterMs', 'milliseconds ≥ 0', o.staleAfterMs);
  if (o.crypto !== undefined && o.crypto !== 'auto' && o.crypto !== 'pure') throw invalidArgument('crypto', '"auto" or "pure"', o.crypto);
  if (o.now !== undefined && typeof o.now !== 'function') throw invalidArgument('now', 'a function', o.now);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw invalidArgument('onProgress', 'a function', o.onProgress);
  if (o.pageSize !== undefined && (!Number.isSafeInteger(o.pageSize) || o.pageSize < 1 || o.pageSize > 1_000_000)) throw invalidArgument('pageSize', 'an integer from 1 to 1000000', o.pageSize);
}

interface StoredCp {
  readonly size: number;
  readonly note: string;
  readonly sealed: boolean;
  readonly cp: Checkpoint;
}

export async function verifyPg(o: PgVerifyOptions): Promise<PgVerifyReport> {
  checkOptions(o);
  const roots = o.keys.map((k) => parseVerifierKey(k));
  assertDistinctKeys(roots);
  if (o.crypto !== 'pure') await installBackends('auto');
  const sql = statements(o.schema ?? DEFAULT_PG_SCHEMA);
  const windowed = o.since !== undefined || o.until !== undefined;
  const full = o.full ?? !windowed;
  const since = o.since ?? -8.64e15;
  const until = o.until ?? 8.64e15;
  const client = await connectPg(o.url, { applicationName: 'ron-audit verify' });
  try {
    let version: number | null;
    try {
      version = (await client.query<{ version: number | null }>(sql.schemaVersion)).rows[0]?.version ?? null;
    } catch (err) {
      throw pgError(err, `reading schema ${o.schema ?? DEFAULT_PG_SCHEMA}`);
    }
    if (version === null || version > PG_SCHEMA_VERSION) throw new AuditError('AUDIT_PG_UNAVAILABLE', `schema ${o.schema ?? DEFAULT_PG_SCHEMA} has version ${String(version)}; this verifier reads version ${PG_SCHEMA_VERSION}`);
    const targets: { id: string; origin: string; lo: number; hi: number }[] = [];
    try {
      if (windowed) {
        const rows = (await client.query<{ log_id: string; origin: string; lo: string; hi: string }>(sql.logsInWindow, [new Date(since).toISOString(), new Date(until).toISOString()])).rows;
        for (const r of rows) targets.push({ id: r.log_id, origin: r.origin, lo: Number(r.lo), hi: Number(r.hi) });
      } else {
        for (const r of (await client.query<{ log_id: string; origin: string }>(sql.allLogs)).rows) targets.push({ id: r.log_id, origin: r.origin, lo: 0, hi: Number.MAX_SAFE_INTEGER });
      }
    } catch (err) {
      throw pgError(err, 'listing the logs');
    }
    const logs: PgLogReport[] = [];
    for (const t of targets) {
      logs.push(await verifyOne(client, sql, o, roots, t, full, since, until, windowed));
    }
    const failing = logs.find((l) => l.failure !== null);
    return {
      ok: logs.every((l) => l.ok),
      logs,
      verified: logs.reduce((n, l) => n + l.verified, 0),
      inRange: logs.reduce((n, l) => n + l.inRange, 0),
      possiblyTruncated: logs.filter((l) => l.status === 'possibly_truncated').map((l) => l.origin),
      failure: failing ? { ...failing.failure!, origin: failing.origin } : null,
      window: windowed ? { since: o.since ?? null, until: o.until ?? null } : null,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const HEX = new TextEncoder().encode('0123456789abcdef');

function hexInto(out: Uint8Array, hash: Uint8Array): void {
  for (let i = 0; i < hash.length; i++) {
    out[2 * i] = HEX[hash[i]! >> 4]!;
    out[2 * i + 1] = HEX[hash[i]! & 15]!;
  }
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

async function verifyOne(
  client: PgClient,
  sql: ReturnType<typeof statements>,
  o: PgVerifyOptions,
  roots: readonly VerifierKey[],
  t: { id: string; origin: string; lo: number; hi: number },
  full: boolean,
  since: number,
  until: number,
  windowed: boolean,
): Promise<PgLogReport> {
  const origin = t.origin;
  const now = (o.now ?? Date.now)();
  // A trusted public key is trusted for every log: re-name it for this origin (see PgVerifyOptions.keys).
  const trusted = new Map<string, VerifierKey>();
  for (const k of roots) {
    const v = parseVerifierKey(formatVerifierKey(origin, k.publicKey));
    trusted.set(formatVerifierKey(v.name, v.publicKey), v);
  }
  const st = { size: 0, verified: 0, inRange: 0, stored: 0 };
  let newest: StoredCp | undefined;
  const report = (failure: PgFailure | null): PgLogReport => {
    const sealed = newest?.sealed === true;
    const cpTime = newest?.cp.time ?? null;
    const age = cpTime === null ? null : now - cpTime;
    const stale = newest === undefined || age === null || age > (o.staleAfterMs ?? DEFAULT_STALE_AFTER_MS);
    const status: PgLogStatus = sealed ? 'sealed' : stale ? 'possibly_truncated' : 'live';
    return {
      ok: failure === null && status !== 'possibly_truncated',
      origin,
      status,
      size: st.stored,
      verified: failure === null ? Math.min(st.verified, newest?.size ?? 0) : st.verified,
      inRange: st.inRange,
      uncovered: Math.max(0, st.stored - (newest?.size ?? 0)),
      checkpointSize: newest?.size ?? 0,
      checkpointTime: cpTime,
      checkpointAgeMs: age,
      sealed,
      keysTrusted: [...trusted.keys()],
      failure,
    };
  };
  try {
    // Checkpoints: parsed now, opened when the walk reaches their size (keys may be announced on the way).
    const cps: StoredCp[] = [];
    for (const r of (await client.query<{ size: string; note: string; sealed: boolean }>(sql.checkpointsOf, [t.id])).rows) {
      const size = Number(r.size);
      let cp: Checkpoint;
      try {
        cp = parseCheckpoint(parseNote(r.note).text);
      } catch (err) {
        throw found('malformed_checkpoint', `checkpoint of size ${size}: ${(err as Error).message}`, null);
      }
      if (cp.origin !== origin) throw found('origin_mismatch', `a checkpoint stored for ${JSON.stringify(origin)} names ${JSON.stringify(cp.origin)}`, null);
      if (cp.size !== size || isSealed(cp) !== r.sealed) throw found('checkpoint_mismatch', `checkpoint row (size ${size}, sealed ${r.sealed}) does not match its signed text (size ${cp.size}, sealed ${isSealed(cp)})`, null);
      cps.push({ size, note: r.note, sealed: r.sealed, cp });
    }
    const seal = cps.find((c) => c.sealed);
    const after = seal === undefined ? undefined : cps.find((c) => c.size > seal.size);
    if (seal !== undefined && after !== undefined) throw found('after_seal', `a checkpoint of size ${after.size} was stored after the log was sealed at size ${seal.size}`, [seal.size, after.size - 1]);
    newest = cps.reduce<StoredCp | undefined>((a, c) => (a === undefined || c.size > a.size || (c.size === a.size && c.sealed) ? c : a), undefined);

    const tree = new CompactRange();
    const scanner = new CanonicalScanner();
    const backend = getHashBackend();
    const prevHex = new Uint8Array(64);
    hexInto(prevHex, genesis(origin));
    let prevKnown = true;
    let cpIndex = 0;
    const checkCps = (): void => {
      while (cpIndex < cps.length && cps[cpIndex]!.size === tree.size) {
        const c = cps[cpIndex++]!;
        if (!equalBytes(tree.root(), c.cp.root)) throw found('root_mismatch', `the first ${c.size} records do not have the root of the ${c.sealed ? 'sealed ' : ''}checkpoint of size ${c.size}`, c.size > 0 ? [0, c.size - 1] : null);
        try {
          openNote(c.note, [...trusted.values()]);
        } catch (err) {
          const e = err as AuditError;
          const reason = e.code === 'AUDIT_SIGNATURE_INVALID' && e.details['keyId'] === undefined ? 'key_untrusted' : e.code === 'AUDIT_SIGNATURE_INVALID' ? 'signature_invalid' : 'malformed_checkpoint';
          throw found(reason, `checkpoint of size ${c.size}: ${e.message}`, c.size > 0 ? [0, c.size - 1] : null);
        }
        st.verified = tree.size;
      }
    };
    checkCps();
    const page = o.pageSize ?? DEFAULT_PAGE;
    const lo = full ? 0 : Math.max(0, t.lo - 1);
    const hi = full ? Number.MAX_SAFE_INTEGER : t.hi;
    let next = 0;
    type Row = { seq: string; hash: Buffer; bytes: Buffer | null; leaf?: Buffer | null };
    const fetchPage = (from: number): Promise<Row[]> =>
      (full ? client.query<Row>(sql.recordPage, [t.id, from, page]) : client.query<Row>(sql.leafPage, [t.id, from, page, lo, hi])).then((r) => r.rows);
    let pending: Promise<Row[]> | undefined = fetchPage(0);
    while (pending !== undefined) {
      const rows: Row[] = await pending;
      // Ask for the next page before checking this one: the database works while we hash.
      pending = rows.length === page ? fetchPage(Number(rows[rows.length - 1]!.seq) + 1) : undefined;
      pending?.catch(() => undefined);
      for (const row of rows) {
        const seq = Number(row.seq);
        if (seq !== next) throw found('gap', `records ${next}–${seq - 1} are missing (the database holds record ${seq} after ${next - 1})`, [next, seq - 1], next);
        if (seal !== undefined && seq >= seal.size) throw found('after_seal', `record ${seq} was stored after the log was sealed at size ${seal.size}`, [seal.size, seq], seq);
        const bytes = row.bytes;
        if (bytes !== null) {
          const range: [number, number] = [seq, seq];
          if (!scanner.scan(bytes)) throw found('not_canonical', `record ${seq} is not RFC 8785 canonical JSON: ${scanner.error} (byte ${scanner.errorAt})`, range, seq);
          const m = scanner.members;
          const time = m.time?.kind === 's' ? scanner.stringOf(m.time) : null;
          if (m.v?.kind !== 'n' || scanner.numberOf(m.v) !== 1) throw found('bad_version', `record ${seq}: format version ${shown(parseRecord(bytes)['v'])}, expected the number 1`, range, seq, time);
          if (m.seq?.kind !== 'n' || scanner.numberOf(m.seq) !== seq) throw found('bad_seq', `record stored at seq ${seq} says seq ${shown(parseRecord(bytes)['seq'])}`, range, seq, time);
          if (prevKnown && !scanner.equalsBytes(m.prev, prevHex)) throw found('chain_broken', `record ${seq}: prev does not match the hash of ${seq === 0 ? 'the genesis link' : `record ${seq - 1}`}`, range, seq, time);
          const h = nextLink(bytes);
          if (!equalBytes(h, row.hash)) throw found('hash_mismatch', `record ${seq}: the stored hash column is not the hash of its bytes`, range, seq, time);
          const rec = parseRecord(bytes);
          const bad = checkFields(rec);
          if (bad !== null) throw found(bad.reason, `record ${seq}: ${bad.message}`, range, seq, time);
          if (isKeyAction(rec['action'])) {
            const why = applyKeyRecord(trusted, origin, rec, seq);
            if (why !== null) throw found('key_untrusted', `record ${seq} (${shown(rec['action'])}): ${why}`, [seq, seq], seq, time);
          }
          hexInto(prevHex, h);
          prevKnown = true;
          const input = new Uint8Array(bytes.length + 1);
          input.set(bytes, 1);
          tree.append(backend.sha256(input));
          if (seq >= t.lo && seq <= t.hi && (!windowed || (time !== null && inWindow(time, since, until)))) st.inRange++;
        } else {
          tree.append(new Uint8Array(row.leaf!));
          prevKnown = false;
        }
        next = seq + 1;
        st.stored = next;
        checkCps();
      }
      o.onProgress?.(origin, next);
    }
    if (cpIndex < cps.length) {
      const c = cps[cpIndex]!;
      throw found('truncated', `the checkpoint of size ${c.size} covers more records than the database holds (${st.stored})`, [st.stored, c.size - 1], st.stored);
    }
    return report(null);
  } catch (err) {
    if (err instanceof Found) return report(err.failure);
    throw pgError(err, `verifying log ${origin}`);
  }
}

function inWindow(time: string, since: number, until: number): boolean {
  const t = Date.parse(time);
  return t >= since && t <= until;
}

/** A record already scanned as canonical: JSON.parse cannot fail. */
function parseRecord(bytes: Uint8Array): Record<string, unknown> {
  return JSON.parse(utf8Strict.decode(bytes)) as Record<string, unknown>;
}

