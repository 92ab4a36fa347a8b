import { AuditError, invalidArgument } from '../errors.js';
import { isSealed, isValidOrigin, type Checkpoint, type LaneClaim } from '../log/checkpoint.js';
import { genesis, nextLink } from '../log/chain.js';
import { equalBytes } from '../log/merkle.js';
import type { VerifyFailureReason } from '../log/memory.js';
import { decodeBundle, tilePath, TILE_HASH_BYTES, TILE_WIDTH } from '../log/tiles.js';
import { verifyEd25519 } from '../sign/ed25519.js';
import { mldsaVerify } from '../sign/mldsa.js';
import { formatVerifierKey, openNote, parseVerifierKey, type VerifierKey } from '../sign/note.js';
import type { FileOps } from '../sinks/fs.js';
import type { BundleVerdict } from './bundle-check.js';
import type { BundlePool } from './export-pool.js';
import { CanonicalScanner } from './canonical-scan.js';
import { shown, type FieldFailureReason } from './fields.js';
import { checkRecord, inWindow, isKeyRecord, parseRecord, timeOf } from './record-check.js';
import { applyKeyRecord, assertDistinctKeys, keysOfLog } from './key-trust.js';
import { installBackends } from '../backends.js';
import { hexInto, leafOf, sha256Latin1For, TileWalker } from './tree-walk.js';
import { defaultFileOps, inventory, join, parseCheckpointNote, partialOf, readOptional, readTileHashes, type ExportCheckpoint, type TileInventory } from '../sinks/export/reader.js';

/**
 * Verify an export directory (docs/format.md §10 "Verifying an export", §8, and the key-rotation
 * trust walk of §12) in one streaming pass: O(log n) memory besides the bundle being checked
 * (and the few read ahead). Never throws for bad data — the report names the first failure,
 * the seq range of the bundle or tile it is in, and a stable reason. Throws only for bad
 * arguments (AUDIT_INVALID_ARGUMENT, AUDIT_KEY_INVALID) and for I/O errors other than a missing
 * file (an unreadable directory is not a finding about the log).
 */

export type ExportFailureReason =
  | VerifyFailureReason
  | FieldFailureReason
  | 'malformed_checkpoint'
  | 'checkpoint_missing'
  | 'truncated'
  | 'bundle_malformed'
  | 'bundle_mismatch'
  | 'tile_mismatch'
  | 'tile_missing'
  | 'key_untrusted'
  | 'rolled_back'
  | 'forked'
  | 'after_seal';

export interface ExportFailure {
  readonly reason: ExportFailureReason;
  readonly message: string;
  /** The seq range the failure is in (a bundle, a tile's span, or the whole checkpoint); null when no record range applies. */
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  /** The record, when one record is at fault. */
  readonly seq: number | null;
  /** That record's `time`, when it parses. */
  readonly time: string | null;
}

export interface ExportVerifyReport {
  readonly ok: boolean;
  /** Origin named by the checkpoint; null when there is no readable checkpoint. */
  readonly origin: string | null;
  /** Tree size of the published checkpoint (0 when unreadable). */
  readonly size: number;
  /** Records that passed every check (all `size` of them when ok). */
  readonly verified: number;
  /** Of those, records whose `time` is within [since, until] (all verified records without a window). */
  readonly inRange: number;
  /** The checkpoint's `time` line (ms since the epoch), null when absent. */
  readonly checkpointTime: number | null;
  readonly checkpointAgeMs: number | null;
  /** Verifier keys trusted at the checkpoint's size: the given ones, plus announced, minus retired (§12). */
  readonly keysTrusted: string[];
  /** The checkpoint's `lane` line (format §5): which lane of which size of set this log is; null for a log that is not a lane. */
  readonly lane: LaneClaim | null;
  readonly failure: ExportFailure | null;
}

export interface ExportVerifyOptions {
  readonly dir: string;
  /** Trust root: C2SP verifier keys (vkey strings) of the log, obtained out of band. */
  readonly keys: readonly string[];
  /** A signed checkpoint (note text) the auditor saw earlier: the log must extend it. */
  readonly trustedCheckpoint?: string;
  /**
   * Window (ms since the epoch, inclusive) of record `time`s to count and, for readExportRange,
   * return. It does not shorten verification: the chain and the tree are checked from seq 0,
   * because every link depends on the one before it.
   */
  readonly since?: number;
  readonly until?: number;
  /**
   * Also compare every hash tile present (full, current partial and older partial ones) and every
   * older partial bundle with what the records imply. Default true. With false, the records, the
   * chain, the root and the signature are still checked; only the tiles (a derived index for tlog
   * clients) are not read.
   */
  readonly full?: boolean;
  readonly ops?: FileOps;
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * 'auto' (default): on Node, install the fast hash and Ed25519 backends process-wide first, as
   * createAudit does (WebAssembly BLAKE3, node:crypto; the same bytes, ~3x faster). 'pure': use
   * whatever is installed (the pure-JavaScript backends unless an engine installed others).
   */
  readonly crypto?: 'auto' | 'pure';
  /**
   * Worker threads that check whole entry bundles in parallel (docs/performance.md "Verifier").
   * Default: one per core, at most 4 (none on one core), for an export of ≥ 262,144 records with
   * crypto 'auto' (smaller ones do not pay for starting the threads); 0 checks everything on this
   * thread. Given explicitly, it is used for any export of two bundles (512 records) or more.
   * The report is the same either way: any bundle a worker does not pass plainly (a failure, a key
   * record, a trusted checkpoint inside it) is checked again on this thread, which writes the report.
   */
  readonly workers?: number;
  /** Clock for checkpointAgeMs (tests). */
  readonly now?: () => number;
}

export interface ExportRecord {
  readonly seq: number;
  readonly bytes: Uint8Array;
  readonly record: Readonly<Record<string, unknown>>;
}

/** Entry bundles read ahead of the one being checked. */
const READ_AHEAD = 4;

const utf8 = new TextEncoder();

/** A failure found: unwinds the scan to the report. */
class Found extends Error {
  constructor(readonly failure: ExportFailure) {
    super(failure.message);
  }
}

function found(reason: ExportFailureReason, message: string, range: [number, number] | null, seq: number | null = null, time: string | null = null): Found {
  return new Found({ reason, message, firstSeq: range?.[0] ?? null, lastSeq: range?.[1] ?? null, seq, time });
}

const vkeyOf = (k: VerifierKey): string => formatVerifierKey(k.name, k.publicKey, k.alg);

/** Leaves [first, last] under hash i of a level-L tile n, clamped to the tree. */
function spanOf(level: number, n: number, fromHash: number, toHash: number, size: number): [number, number] {
  const per = TILE_WIDTH ** level;
  const start = (n * TILE_WIDTH + fromHash) * per;
  return [start, Math.min((n * TILE_WIDTH + toHash + 1) * per, size) - 1];
}

type BufferLike = { compare(a: Uint8Array, b: Uint8Array): number };
const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;

/** Byte equality of public data (tiles, bundles): memcmp on Node, a loop elsewhere. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (NodeBuffer !== undefined) return NodeBuffer.compare(a, b) === 0;
  return equalBytes(a, b);
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return Math.floor(i / TILE_HASH_BYTES);
  return Math.floor(len / TILE_HASH_BYTES);
}

function checkOptions(opts: ExportVerifyOptions): void {
  if (opts === null || typeof opts !== 'object') throw invalidArgument('options', '{dir, keys, …}', opts);
  if (typeof opts.dir !== 'string' || opts.dir.length === 0) throw invalidArgument('dir', 'an export directory path', opts.dir);
  if (!Array.isArray(opts.keys) || opts.keys.length === 0 || !opts.keys.every((k) => typeof k === 'string')) throw invalidArgument('keys', 'a non-empty array of verifier key strings', opts.keys);
  for (const name of ['since', 'until'] as const) {
    const v = opts[name];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) throw invalidArgument(name, 'milliseconds since the epoch', v);
  }
  if (opts.since !== undefined && opts.until !== undefined && opts.until < opts.since) throw invalidArgument('until', `a time ≥ since (${new Date(opts.since).toISOString()})`, opts.until);
  if (opts.trustedCheckpoint !== undefined && typeof opts.trustedCheckpoint !== 'string') throw invalidArgument('trustedCheckpoint', 'a signed checkpoint note', opts.trustedCheckpoint);
  if (opts.full !== undefined && typeof opts.full !== 'boolean') throw invalidArgument('full', 'a boolean', opts.full);
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw invalidArgument('onProgress', 'a function', opts.onProgress);
  if (opts.crypto !== undefined && opts.crypto !== 'auto' && opts.crypto !== 'pure') throw invalidArgument('crypto', '"auto" or "pure"', opts.crypto);
  if (opts.workers !== undefined && (typeof opts.workers !== 'number' || !Number.isSafeInteger(opts.workers) || opts.workers < 0 || opts.workers > 64)) {
    throw invalidArgument('workers', 'a whole number of worker threads, 0–64 (0: verify on this thread)', opts.workers);
  }
}

/**
 * Exports smaller than this are verified on the calling thread unless `workers` says otherwise:
 * a fresh worker costs ~140 ms to load and runs cold for its first ~10,000 records, which the
 * 2-core machine of docs/performance.md only wins back past ~200,000 records.
 */
const MIN_RECORDS_FOR_WORKERS = 1024 * TILE_WIDTH;

/** The bundle workers for this pass, or null: none asked for, too small an export, a record callback (readExportRange), or pure crypto. */
async function openPool(opts: ExportVerifyOptions, size: number, window: { hasWindow: boolean; since: number; until: number }, tiles: boolean, withCallback: boolean): Promise<BundlePool | null> {
  if (withCallback || opts.crypto === 'pure' || opts.workers === 0 || size < 2 * TILE_WIDTH) return null;
  if (opts.workers === undefined && size < MIN_RECORDS_FOR_WORKERS) return null;
  if (typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node !== 'string') return null;
  const { BundlePool, defaultWorkers } = await import('./export-pool.js');
  return BundlePool.open(opts.workers ?? defaultWorkers(), window, tiles);
}

interface ScanState {
  origin: string | null;
  size: number;
  verified: number;
  inRange: number;
  checkpoint: Checkpoint | null;
  trusted: Map<string, VerifierKey>;
}

/** Verify an export directory. See ExportVerifyOptions for what `since`, `until` and `full` change (and do not). */
export async function verifyExport(opts: ExportVerifyOptions): Promise<ExportVerifyReport> {
  return scanExport(opts, undefined);
}

/**
 * Verify the export, then return the records whose `time` is in [from, to] (inclusive, ms since
 * the epoch). Nothing is returned unless the whole export verifies.
 */
export async function readExportRange(opts: Omit<ExportVerifyOptions, 'since' | 'until'> & { from: number; to: number }): Promise<{ records: ExportRecord[]; report: ExportVerifyReport }> {
  if (opts === null || typeof opts !== 'object') throw invalidArgument('options', '{dir, keys, from, to}', opts);
  const { from, to, ...rest } = opts;
  if (typeof from !== 'number' || !Number.isFinite(from)) throw invalidArgument('from', 'milliseconds since the epoch', from);
  if (typeof to !== 'number' || !Number.isFinite(to) || to < from) throw invalidArgument('to', 'milliseconds since the epoch, ≥ from', to);
  const records: ExportRecord[] = [];
  const report = await scanExport({ ...rest, since: from, until: to }, (seq, bytes, record) => records.push({ seq, bytes: bytes.slice(), record }));
  return { records: report.ok ? records : [], report };
}

async function scanExport(opts: ExportVerifyOptions, onRecord: ((seq: number, bytes: Uint8Array, record: Record<string, unknown>) => void) | undefined): Promise<ExportVerifyReport> {
  checkOptions(opts);
  const initial = opts.keys.map((k) => parseVerifierKey(k));
  assertDistinctKeys(initial);
  const ops = opts.ops ?? (await defaultFileOps());
  if (opts.crypto !== 'pure') await installBackends('auto');
  const now = opts.now ?? Date.now;
  const st: ScanState = { origin: null, size: 0, verified: 0, inRange: 0, checkpoint: null, trusted: new Map(initial.map((k) => [vkeyOf(k), k])) };
  const report = (failure: ExportFailure | null): ExportVerifyReport => {
    const time = st.checkpoint?.time ?? null;
    return {
      ok: failure === null,
      origin: st.origin,
      size: st.size,
      verified: st.verified,
      inRange: st.inRange,
      checkpointTime: time,
      checkpointAgeMs: time === null ? null : now() - time,
      keysTrusted: [...st.trusted.keys()],
      lane: st.checkpoint?.lane ?? null,
      failure,
    };
  };
  // An export directory that is not there is an operator error (exit 2), not a finding.
  await ops.readdir(opts.dir);
  try {
    await scan(opts, ops, st, onRecord);
    return report(null);
  } catch (err) {
    if (err instanceof Found) return report(err.failure);
    throw err;
  }
}

async function scan(opts: ExportVerifyOptions, ops: FileOps, st: ScanState, onRecord: ((seq: number, bytes: Uint8Array, record: Record<string, unknown>) => void) | undefined): Promise<void> {
  const dir = opts.dir;
  const full = opts.full ?? true;
  const raw = await readOptional(ops, join(dir, 'checkpoint'));
  if (raw === null) throw found('checkpoint_missing', `no checkpoint file in ${dir}: nothing has been published there`, null);
  let cpn: ExportCheckpoint;
  try {
    cpn = parseCheckpointNote(raw);
  } catch (err) {
    throw found('malformed_checkpoint', `checkpoint: ${(err as Error).message}`, null);
  }
  const cp = cpn.checkpoint;
  const { origin, size } = cp;
  // Format §1 (issue 14 item 10): a C2SP checkpoint may name its log in ways a ron-audit log cannot.
  if (!isValidOrigin(origin)) {
    const named: string = cp.origin;
    throw found('malformed_checkpoint', `checkpoint: origin ${JSON.stringify(named.length > 80 ? `${named.slice(0, 80)}…` : named)} is not a ron-audit origin (1–255 bytes of printable ASCII without "+" or space, format §1)`, null);
  }
  st.origin = origin;
  st.size = size;
  st.checkpoint = cp;
  const hasWindow = opts.since !== undefined || opts.until !== undefined;
  const since = opts.since ?? -Infinity;
  const until = opts.until ?? Infinity;
  // Started first, so that the workers load while this thread checks the checkpoint and lists the tiles.
  const pool = await openPool(opts, size, { hasWindow, since, until }, full, onRecord !== undefined);
  try {
    const whole: [number, number] | null = size > 0 ? [0, size - 1] : null;
    if (![...st.trusted.values()].some((k) => k.name === origin)) {
      throw found('key_untrusted', `none of the trusted keys is for the log ${JSON.stringify(origin)} (a key's name is its log's origin)`, whole);
    }
    // Format §6 rule 2, checked before the long pass: a trusted key's signature that fails rejects the note.
    const signed = utf8.encode(cpn.parsed.text);
    for (const sig of cpn.parsed.signatures) {
      for (const k of keysOfLog(origin, st.trusted.values())) {
        if (k.name === sig.name && k.keyId === sig.keyId && !(k.alg === 'ml-dsa-44' ? mldsaVerify : verifyEd25519)(k.publicKey, signed, sig.signature)) {
          throw found('signature_invalid', `checkpoint signature by ${vkeyOf(k)} does not verify`, whole);
        }
      }
    }

    // The auditor's earlier checkpoint: the log must be at least that large and extend it.
    let trusted: Checkpoint | undefined;
    let trustedNote: string | undefined;
    let trustedOpened = false;
    if (opts.trustedCheckpoint !== undefined) {
      let t: ExportCheckpoint;
      try {
        t = parseCheckpointNote(opts.trustedCheckpoint);
      } catch (err) {
        throw new AuditError('AUDIT_INVALID_ARGUMENT', `trustedCheckpoint: ${(err as Error).message}`, { argument: 'trustedCheckpoint' });
      }
      trusted = t.checkpoint;
      trustedNote = t.note;
      if (trusted.origin !== origin) throw found('origin_mismatch', `the trusted checkpoint is for ${JSON.stringify(trusted.origin)}, this export is ${JSON.stringify(origin)}`, null);
      try {
        openNote(trustedNote, keysOfLog(origin, st.trusted.values()));
        trustedOpened = true;
      } catch {
        // Maybe signed by a key announced later in the log: checked again at its size.
      }
      if (trusted.size > size) {
        if (!trustedOpened) throw new AuditError('AUDIT_SIGNATURE_INVALID', 'the trusted checkpoint is not signed by any of the given keys', { argument: 'trustedCheckpoint' });
        throw found('rolled_back', `the export's checkpoint has size ${size}, smaller than the trusted checkpoint's ${trusted.size}: records ${size}–${trusted.size - 1} were cut or the checkpoint was rolled back`, [size, trusted.size - 1]);
      }
      // Format §5 "sealed": a sealed log has exactly that many records, ever.
      if (isSealed(trusted) && size > trusted.size) {
        if (!trustedOpened) throw new AuditError('AUDIT_SIGNATURE_INVALID', 'the trusted checkpoint is not signed by any of the given keys', { argument: 'trustedCheckpoint' });
        throw found('after_seal', `the trusted checkpoint seals the log at size ${trusted.size}, but this export's checkpoint has size ${size}: records ${trusted.size}–${size - 1} were appended after the seal`, [trusted.size, size - 1], trusted.size);
      }
    }
    const sha256 = sha256Latin1For();
    const walker = new TileWalker(full, sha256);
    const checkTrusted = (): void => {
      if (trusted === undefined || walker.size !== trusted.size) return;
      let opens = trustedOpened;
      if (!opens) {
        try {
          openNote(trustedNote!, keysOfLog(origin, st.trusted.values()));
          opens = true;
        } catch {
          // Judged below: a different root is a fork whoever signed the note.
        }
      }
      // The root first: records that differ from what the auditor saw are a fork, even when this
      // log's key history cannot verify the auditor's checkpoint — which is what a history
      // rewritten from before a rotation with the retired (stolen) key looks like (§12).
      if (!equalBytes(walker.root(), trusted.root)) {
        const keys = opens ? '' : `; and the trusted checkpoint is signed by a key this log does not trust at that size, so its key history differs too (a history rewritten with a retired or stolen key looks like this, format §12)`;
        throw found('forked', `the first ${trusted.size} records do not have the trusted checkpoint's root: this log is not an extension of the one you saw${keys}`, trusted.size > 0 ? [0, trusted.size - 1] : null);
      }
      if (!opens) throw new AuditError('AUDIT_SIGNATURE_INVALID', `the trusted checkpoint is not signed by a key trusted at its size ${trusted.size}`, { argument: 'trustedCheckpoint' });
    };
    checkTrusted();

    const inv = await inventory(ops, dir);
    // A sealed checkpoint is the log's last (format §5): no entry bundle may hold a record beyond it.
    if (isSealed(cp) && inv.entriesEnd > size) {
      throw found('after_seal', `the checkpoint seals the log at size ${size}, but the entry bundles hold records up to seq ${inv.entriesEnd - 1}: records were appended after the seal`, [size, inv.entriesEnd - 1], size);
    }
    const scanner = new CanonicalScanner();
    const prevHex = new Uint8Array(64);
    hexInto(prevHex, genesis(origin));
    const bundles = Math.ceil(size / TILE_WIDTH);

    await scanBundles();

    async function scanBundles(): Promise<void> {
      type Fetched = { bytes: Uint8Array | null; exact: boolean; path: string; tile: Uint8Array | null | undefined; verdict: Promise<BundleVerdict | null> | null };
      const fetch = async (b: number): Promise<Fetched> => {
        const count = Math.min(TILE_WIDTH, size - b * TILE_WIDTH);
        const exactPath = tilePath('entries', b, count);
        const tileP = full && count === TILE_WIDTH ? readOptional(ops, join(dir, tilePath(0, b))) : Promise.resolve(undefined);
        let bytes = await readOptional(ops, join(dir, exactPath));
        let path = exactPath;
        if (bytes === null && count < TILE_WIDTH) {
          // As a tlog client would: the partial bundle may be gone once the full one exists.
          for (const alt of [tilePath('entries', b), ...inv.partials('entries', b).filter((w) => w > count).map((w) => tilePath('entries', b, w))]) {
            bytes = await readOptional(ops, join(dir, alt));
            if (bytes !== null) {
              path = alt;
              break;
            }
          }
        }
        // A full bundle goes to a worker as soon as it is read; the verdict is used in bundle order.
        const verdict = pool !== null && bytes !== null && count === TILE_WIDTH ? pool.run(bytes, b * TILE_WIDTH) : null;
        return { bytes, exact: path === exactPath, path, tile: await tileP, verdict };
      };

      // Read ahead a few bundles so the file reads overlap the hashing (memory: that many bundles),
      // and, with workers, enough that each always has the next bundle waiting.
      const ahead: Promise<Fetched>[] = [];
      let queued = 0;
      const readAhead = pool === null ? READ_AHEAD : READ_AHEAD * (1 + pool.size);
      const refill = (): void => {
        while (queued < bundles && ahead.length < readAhead) {
          const p = fetch(queued++);
          p.catch(() => undefined); // a read-ahead that fails is reported when awaited
          ahead.push(p);
        }
      };
      for (let b = 0; b < bundles; b++) {
        refill();
        const got = await ahead.shift()!;
        const start = b * TILE_WIDTH;
        const count = Math.min(TILE_WIDTH, size - start);
        const range: [number, number] = [start, start + count - 1];
        if (got.bytes === null) throw found('truncated', `entry bundle ${tilePath('entries', b, count)} is missing: the checkpoint covers ${size} records`, range, start);
        const entries = decodeBundle(got.bytes);
        if (entries === null) throw found('bundle_malformed', `entry bundle ${got.path}: a length prefix runs past the end of the file`, range, start);
        const verdict = got.verdict === null ? null : await got.verdict;
        // A worker's verdict stands for the bundle only when it joins the log here: its record 0
        // carries the link before it, and no trusted checkpoint ends inside it (checkTrusted runs per record).
        if (verdict !== null && sameBytes(verdict.firstPrev, prevHex) && (trusted === undefined || trusted.size <= start || trusted.size >= start + TILE_WIDTH)) {
          walker.appendSubtree(verdict.root, verdict.tile);
          prevHex.set(verdict.lastPrev);
          st.verified = start + TILE_WIDTH;
          st.inRange += verdict.inRange;
          if (trusted !== undefined) checkTrusted();
        } else {
          const n = Math.min(entries.length, count);
          for (let i = 0; i < n; i++) {
            const seq = start + i;
            const bytes = entries[i]!;
            const bad = checkRecord(scanner, bytes, seq, prevHex);
            if (bad !== null) throw found(bad.reason, bad.message, range, seq, bad.time);
            const key = isKeyRecord(scanner, bytes);
            const rec = key || onRecord !== undefined ? parseRecord(bytes) : null;
            if (key) {
              const why = applyKeyRecord(st.trusted, origin, rec!, seq);
              if (why !== null) throw found('key_untrusted', `record ${seq} (${shown(rec!['action'])}): ${why}`, range, seq, timeOf(scanner));
            }
            hexInto(prevHex, nextLink(bytes));
            walker.append(leafOf(bytes, sha256));
            st.verified = seq + 1;
            if (!hasWindow || inWindow(timeOf(scanner), since, until)) {
              st.inRange++;
              if (onRecord !== undefined) onRecord(seq, bytes, rec!);
            }
            if (trusted !== undefined) checkTrusted();
          }
        }
        if (entries.length < count) throw found('truncated', `entry bundle ${got.path} holds ${entries.length} records, the checkpoint needs ${count}`, range, start + entries.length);
        if (got.exact && entries.length > count) throw found('bundle_malformed', `entry bundle ${got.path} holds ${entries.length} records, expected ${count}`, range);
        if (full) {
          await checkOlderBundles(ops, dir, inv, b, count, got.bytes, entries, range);
          for (const t of walker.completed) await checkTile(ops, dir, inv, t.level, t.n, TILE_WIDTH, t.bytes, size, t.level === 0 ? got.tile : undefined);
          walker.completed = [];
        }
        opts.onProgress?.(start + count, size);
      }
    }
    if (full) {
      // The right edge: the partial tile each level has at this size, and older partials of it.
      for (let level = 0; ; level++) {
        const { n, width } = partialOf(size, level);
        if (n === 0 && width === 0) break;
        if (width === 0) continue;
        await checkTile(ops, dir, inv, level, n, width, walker.buffers[level]!.subarray(0, width * TILE_HASH_BYTES), size, undefined);
      }
    }
    const opened = openWithTrusted(cpn.note, st);
    if (opened !== null) throw found(opened.reason, opened.message, whole);
    if (!equalBytes(walker.root(), cp.root)) throw found('root_mismatch', `the root of the ${size} records does not match the signed checkpoint`, whole);
  } finally {
    await pool?.close();
  }
}

function openWithTrusted(note: string, st: ScanState): { reason: ExportFailureReason; message: string } | null {
  try {
    openNote(note, keysOfLog(st.origin!, st.trusted.values()));
    return null;
  } catch (err) {
    const e = err as AuditError;
    if (e.code === 'AUDIT_SIGNATURE_INVALID' && e.details['keyId'] !== undefined) return { reason: 'signature_invalid', message: `checkpoint: ${e.message}` };
    if (e.code === 'AUDIT_SIGNATURE_INVALID') {
      const own = keysOfLog(st.origin!, st.trusted.values()).map(vkeyOf);
      return { reason: 'key_untrusted', message: `checkpoint of size ${st.size} carries no signature by a key of ${JSON.stringify(st.origin)} trusted at that size (trusted: ${own.join(', ') || 'none'}; keys named for other logs do not count)` };
    }
    return { reason: 'malformed_checkpoint', message: `checkpoint: ${e.message}` };
  }
}

/** Older partial bundles at this index must be exact byte prefixes of the bundle just verified. */
async function checkOlderBundles(ops: FileOps, dir: string, inv: TileInventory, b: number, count: number, bytes: Uint8Array, entries: readonly Uint8Array[], range: [number, number]): Promise<void> {
  const widths = inv.partials('entries', b).filter((w) => w < count);
  if (widths.length === 0) return;
  const ends: number[] = [];
  let off = 0;
  for (const e of entries) ends.push((off += 2 + e.length));
  for (const w of widths) {
    const rel = tilePath('entries', b, w);
    const older = await readOptional(ops, join(dir, rel));
    if (older === null) continue;
    const want = bytes.subarray(0, ends[w - 1]);
    if (!sameBytes(older, want)) {
      const olderEntries = decodeBundle(older);
      let i = 0;
      while (olderEntries !== null && i < Math.min(w, olderEntries.length) && equalBytes(olderEntries[i]!, entries[i]!)) i++;
      throw found('bundle_mismatch', `older partial bundle ${rel} disagrees with the verified records (first difference at record ${range[0] + i})`, [range[0], range[0] + w - 1], range[0] + Math.min(i, w - 1));
    }
  }
}

/**
 * Compare hash tile (level, n) with the recomputed hashes [0, width): the exact file must exist
 * (or the full tile, for a partial one), and every older partial tile at that index must be a prefix.
 */
async function checkTile(ops: FileOps, dir: string, inv: TileInventory, level: number, n: number, width: number, want: Uint8Array, size: number, prefetched: Uint8Array | null | undefined): Promise<void> {
  const rel = tilePath(level, n, width);
  let got: Uint8Array | null;
  if (prefetched !== undefined) got = prefetched;
  else got = await readTileHashes(ops, dir, level, n, width, inv);
  if (got === null) throw found('tile_missing', `hash tile ${rel} is missing`, spanOf(level, n, 0, width - 1, size));
  if (!sameBytes(got, want)) {
    const i = firstDifference(got, want);
    const span = spanOf(level, n, Math.min(i, width - 1), Math.min(i, width - 1), size);
    throw found('tile_mismatch', `hash tile ${rel}: hash ${i} does not match the records (leaves ${span[0]}–${span[1]})`, span, level === 0 ? span[0] : null);
  }
  for (const w of inv.partials(level, n)) {
    if (w >= width) continue; // the current partial (already compared) or one beyond this checkpoint
    const orel = tilePath(level, n, w);
    const older = await readOptional(ops, join(dir, orel));
    if (older === null) continue;
    const prefix = want.subarray(0, w * TILE_HASH_BYTES);
    if (!sameBytes(older, prefix)) {
      const i = Math.min(firstDifference(older, prefix), w - 1);
      const span = spanOf(level, n, i, i, size);
      throw found('tile_mismatch', `older partial tile ${orel}: hash ${i} does not match the records (leaves ${span[0]}–${span[1]})`, span, level === 0 ? span[0] : null);
    }
  }
}
