import type { Counter, Histogram } from 'prom-client';
import { AuditError, invalidArgument } from '../../errors.js';
import { ByteRun } from '../../prim/byte-run.js';
import { leafHash } from '../../prim/hash.js';
import { encodeBundle, tilePath, TILE_WIDTH, type TileRef } from '../../log/tiles.js';
import { DIR_MODE, nodeFileOps, writeFileAtomic, writeFilesAtomic, type FileOps } from '../fs.js';
import { hashesAtLevel, join, joinHashes, parseCheckpointNote, perfectRoot, readBundleEntries, readOptional, tileHashesOrRecompute, type TileLevel } from './reader.js';

/**
 * The export sink (docs/format.md §10): publishes the log as a static C2SP tlog-tiles directory.
 * It consumes what it is handed — record bytes in order, then signed checkpoints — and never looks
 * into the log or the engine. Publication runs in the background, one at a time, coalescing to
 * the newest offered checkpoint; a failed publication is reported once through `onError` and the
 * writer stops (the engine degrades the export sink), leaving the last published state intact.
 *
 * Memory: the records since the last full entry bundle plus the unpublished ones, and per level
 * the hashes since the last full tile (< 256 each). Nothing older is kept: full tiles and bundles
 * are immutable once written. The waiting records and their leaf hashes are copied into chunked
 * runs (prim/byte-run.ts), not kept as one object each: an export holds thousands of records
 * between publications, and as objects each would be promoted and marked by the collector.
 */

export interface ExportWriterOptions {
  dir: string;
  /** Publish when this many records are waiting (AUDIT_CHECKPOINT_EVERY). */
  every: number;
  /** …or when this long has passed since the last publication with records waiting (AUDIT_CHECKPOINT_INTERVAL_MS). */
  intervalMs: number;
  ops?: FileOps;
  metrics?: { exportBatch: Histogram<string>; exportCheckpoints: Counter<string> };
  now?: () => number;
}

/** A signed checkpoint as the log hands it over. */
export interface OfferedCheckpoint {
  readonly note: string;
  readonly size: number;
  readonly time: number;
}

/** Files written in parallel during one publication; each is temp + fsync + rename + fsync dir. */
export const EXPORT_WRITE_CONCURRENCY = 8;
/** Leaves hashed between yields to the event loop while preparing a publication. */
const HASH_CHUNK = 2048;

/** A leaf the caller did not hand over (the writer hashes the record itself). */
const NO_LEAF = new Uint8Array(0);

const yieldTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.err;
}

function exportFailed(message: string, cause: unknown, details: Record<string, unknown> = {}): AuditError {
  const errno = (cause as { code?: unknown } | null)?.code;
  const err = new AuditError('AUDIT_EXPORT_FAILED', `${message}: ${cause instanceof Error ? cause.message : String(cause)}`, {
    ...details,
    ...(typeof errno === 'string' ? { errno } : {}),
  });
  (err as { cause?: unknown }).cause = cause;
  return err;
}

function assertPositiveInt(name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw invalidArgument(name, 'an integer ≥ 1', v);
}

export class ExportWriter {
  /** Set by the engine: called once when a publication fails; the writer then stops publishing. */
  onError?: (err: unknown) => void;

  private readonly dir: string;
  private every: number;
  private intervalMs: number;
  private readonly ops: FileOps;
  private readonly metrics: ExportWriterOptions['metrics'];
  private readonly now: () => number;

  /** Records [entryBase, nextSeq); entryBase is a multiple of 256 (the first record not in a full bundle on disk). */
  private entryBase = 0;
  private readonly entries = new ByteRun(256 * 1024);
  private nextSeq = 0;
  /** Per level, hashes from levelBase[L] (a multiple of 256: the first hash not in a full tile on disk). */
  private levels: Uint8Array[][] = [];
  private levelBase: number[] = [];
  /** Leaves whose hashes are in `levels`. */
  private hashed = 0;
  /** Leaf hashes handed over with records [hashed, …) (an empty entry: hash the bytes), or none. */
  private readonly leaves = new ByteRun(32 * 1024);

  /**
   * Tiles (`level:n`, level −1 for entry bundles) that may have partial files on disk: the ones
   * this writer wrote, and the right edge it continued from. Only these are looked at when their
   * full tile is written — a tile that filled within one publication never had a partial, and
   * looking for one cost a failed readdir (an error object and a thread-pool call) per full tile.
   */
  private readonly partials = new Set<string>();

  private pubSize = 0;
  private pubNote: string | undefined;
  private pubTime: number | undefined;
  private lastPublishAt: number;
  private offered: OfferedCheckpoint | undefined;
  private flushWanted = false;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failure: AuditError | undefined;
  private closed = false;

  private constructor(opts: ExportWriterOptions, ops: FileOps) {
    this.dir = opts.dir;
    this.every = opts.every;
    this.intervalMs = opts.intervalMs;
    this.ops = ops;
    this.metrics = opts.metrics;
    this.now = opts.now ?? Date.now;
    this.lastPublishAt = this.now();
  }

  /**
   * Open (or create) an export directory. An existing export is continued exactly where its
   * `checkpoint` left it: the right edge (partial bundle, partial tiles) is read back, so the
   * next addRecords() must start at `publishedSize`.
   */
  static async open(opts: ExportWriterOptions): Promise<ExportWriter> {
    if (opts === null || typeof opts !== 'object') throw invalidArgument('options', '{dir, every, intervalMs}', opts);
    if (typeof opts.dir !== 'string' || opts.dir.length === 0) throw invalidArgument('dir', 'a directory path', opts.dir);
    assertPositiveInt('every', opts.every);
    assertPositiveInt('intervalMs', opts.intervalMs);
    if (opts.now !== undefined && typeof opts.now !== 'function') throw invalidArgument('now', 'a function returning milliseconds', opts.now);
    const ops = opts.ops ?? nodeFileOps;
    const w = new ExportWriter(opts, ops);
    try {
      await ops.mkdir(opts.dir, DIR_MODE);
    } catch (err) {
      throw exportFailed(`cannot create the export directory ${opts.dir}`, err, { dir: opts.dir });
    }
    await w.restore();
    return w;
  }

  get publishedSize(): number {
    return this.pubSize;
  }

  get publishedNote(): string | undefined {
    return this.pubNote;
  }

  get publishedTime(): number | undefined {
    return this.pubTime;
  }

  /** The next seq addRecords() expects. */
  get expectedSeq(): number {
    return this.nextSeq;
  }

  /** The error that stopped publication, if any. */
  get failed(): AuditError | undefined {
    return this.failure;
  }

  private async restore(): Promise<void> {
    const raw = await readOptional(this.ops, join(this.dir, 'checkpoint'));
    if (raw === null) return;
    let size: number;
    try {
      const cp = parseCheckpointNote(raw);
      size = cp.checkpoint.size;
      this.pubNote = cp.note;
      this.pubTime = cp.checkpoint.time;
    } catch (err) {
      throw exportFailed(`cannot continue the export in ${this.dir}: its checkpoint file is unreadable`, err, { dir: this.dir });
    }
    const cantContinue = (what: string): AuditError =>
      new AuditError('AUDIT_EXPORT_FAILED', `cannot continue the export in ${this.dir} at size ${size}: ${what} (verify it with: ronctl audit verify --export-dir ${this.dir} --key <verifier key>)`, {
        dir: this.dir,
        size,
      });
    const width0 = size % TILE_WIDTH;
    if (width0 > 0) {
      this.partials.add(`-1:${Math.floor(size / TILE_WIDTH)}`);
      const read = await readBundleEntries(this.ops, this.dir, Math.floor(size / TILE_WIDTH), width0);
      if (!('entries' in read)) throw cantContinue(`the partial entry bundle of ${width0} records is ${'missing' in read ? 'missing' : 'malformed'}`);
      for (const e of read.entries) this.entries.push(e);
    }
    this.entryBase = size - width0;
    for (let level = 0; hashesAtLevel(size, level) > 0; level++) {
      const h = hashesAtLevel(size, level);
      const width = h % TILE_WIDTH;
      this.levelBase[level] = h - width;
      if (width > 0) this.partials.add(`${level}:${Math.floor(h / TILE_WIDTH)}`);
      if (width === 0) {
        this.levels[level] = [];
      } else if (level === 0) {
        this.levels[level] = this.entries.views(0, this.entries.length).map((e) => leafHash(e));
      } else {
        const hashes = await tileHashesOrRecompute(this.ops, this.dir, level, Math.floor(h / TILE_WIDTH), width);
        if (hashes === null) throw cantContinue(`the level-${level} hashes of the right edge can be neither read nor recomputed`);
        this.levels[level] = hashes.map((x) => x.slice());
      }
    }
    this.pubSize = size;
    this.nextSeq = size;
    this.hashed = size;
  }

  /**
   * Hand over records in log order. `firstSeq` must be exactly the next expected seq. The bytes
   * are copied: the caller may reuse its buffers.
   */
  addRecords(firstSeq: number, records: readonly Uint8Array[], leaves?: readonly Uint8Array[]): void {
    if (!Array.isArray(records)) throw invalidArgument('records', 'an array of Uint8Array', records);
    if (firstSeq !== this.nextSeq) throw invalidArgument('firstSeq', `the next expected seq ${this.nextSeq}`, firstSeq);
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (!(r instanceof Uint8Array) || r.length > 0xffff) throw invalidArgument(`records[${i}]`, 'Uint8Array of at most 65535 bytes', r);
    }
    if (leaves !== undefined) {
      if (!Array.isArray(leaves) || leaves.length !== records.length) throw invalidArgument('leaves', `an array of ${records.length} leaf hashes (one per record)`, leaves);
      for (let i = 0; i < leaves.length; i++) {
        const h = leaves[i];
        if (!(h instanceof Uint8Array) || h.length !== 32) throw invalidArgument(`leaves[${i}]`, 'a 32-byte RFC 6962 leaf hash', h);
      }
    }
    this.nextSeq += records.length;
    // After a failure the sink is off: nothing more is buffered (the engine runs degraded).
    if (this.failure !== undefined || this.closed) return;
    for (let i = 0; i < records.length; i++) this.entries.push(records[i]!);
    // The appender already hashed each leaf for its tree: publication reuses those hashes instead
    // of hashing every record a second time. Without them (tests, replay) it hashes the bytes.
    if (leaves !== undefined || this.leaves.length > 0) {
      while (this.leaves.length < this.nextSeq - records.length - this.hashed) this.leaves.push(NO_LEAF);
      for (let i = 0; i < records.length; i++) this.leaves.push(leaves?.[i] ?? NO_LEAF);
    }
  }

  /** Offer a signed checkpoint; it is published according to the cadence. Never blocks or throws for I/O. */
  offerCheckpoint(cp: OfferedCheckpoint): void {
    if (cp === null || typeof cp !== 'object') throw invalidArgument('checkpoint', '{note, size, time}', cp);
    if (typeof cp.note !== 'string' || cp.note.length === 0) throw invalidArgument('checkpoint.note', 'a signed note', cp.note);
    if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw invalidArgument('checkpoint.size', 'a safe integer ≥ 0', cp.size);
    if (typeof cp.time !== 'number' || !Number.isFinite(cp.time)) throw invalidArgument('checkpoint.time', 'milliseconds since the epoch', cp.time);
    if (cp.size > this.nextSeq) throw invalidArgument('checkpoint.size', `at most the records handed over (${this.nextSeq})`, cp.size);
    if (this.failure !== undefined || this.closed) return;
    // A smaller size than already offered or published is stale (never publish a rollback).
    if (cp.size < this.pubSize || (this.offered !== undefined && cp.size < this.offered.size)) return;
    this.offered = { note: cp.note, size: cp.size, time: cp.time };
    this.schedule();
  }

  /** Publish the newest offered checkpoint now; resolves when it is on disk. Rejects with the failure that stopped the writer. */
  async flush(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (this.offered !== undefined && this.isNewer(this.offered)) {
      this.flushWanted = true;
      this.kick();
    }
    while (this.running !== undefined) await this.running;
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Hot reload of the cadence (checkpointEvery, checkpointIntervalMs). It applies to what is
   * already waiting: a checkpoint now due under the new cadence is published at once, and the
   * interval timer is re-armed from the last publication with the new length.
   */
  setCadence(every: number, intervalMs: number): void {
    assertPositiveInt('every', every);
    assertPositiveInt('intervalMs', intervalMs);
    this.every = every;
    this.intervalMs = intervalMs;
    if (this.closed || this.running !== undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule();
  }

  /** Flush and stop the timer. A publication failure was already reported through onError; close() does not throw it again. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } catch {
      // reported through onError
    } finally {
      this.closed = true;
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private isNewer(cp: OfferedCheckpoint): boolean {
    return cp.size > this.pubSize || (cp.size === this.pubSize && cp.note !== this.pubNote);
  }

  private isDue(): boolean {
    const cp = this.offered;
    if (cp === undefined || this.failure !== undefined || !this.isNewer(cp)) return false;
    if (this.flushWanted) return true;
    if (cp.size <= this.pubSize) return false;
    return cp.size - this.pubSize >= this.every || this.now() - this.lastPublishAt >= this.intervalMs;
  }

  private schedule(): void {
    if (this.isDue()) this.kick();
    else this.arm();
  }

  /** Wake up when the interval since the last publication ends, if records are waiting. */
  private arm(): void {
    const cp = this.offered;
    if (this.timer !== undefined || this.closed || this.failure !== undefined || cp === undefined || cp.size <= this.pubSize) return;
    const wait = Math.max(1, this.lastPublishAt + this.intervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, wait);
    this.timer.unref();
  }

  private kick(): void {
    if (this.running !== undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if (this.failure === undefined) this.schedule();
    });
  }

  private async loop(): Promise<void> {
    while (this.isDue()) {
      const cp = this.offered!;
      this.flushWanted = false;
      try {
        await this.publish(cp);
      } catch (err) {
        this.fail(err instanceof AuditError && err.code === 'AUDIT_EXPORT_FAILED' ? err : exportFailed(`export publication of size ${cp.size} to ${this.dir} failed`, err, { size: cp.size }));
        return;
      }
    }
  }

  private fail(err: AuditError): void {
    this.failure = err;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.entries.clear();
    this.levels = [];
    this.leaves.clear();
    try {
      this.onError?.(err);
    } catch {
      // a failing error handler must not turn into an unhandled rejection here
    }
  }

  private pushHash(level: number, h: Uint8Array): void {
    const arr = (this.levels[level] ??= []);
    this.levelBase[level] ??= 0;
    arr.push(h);
    // levelBase is a multiple of 256, so a tile completes whenever the held run does.
    if (arr.length % TILE_WIDTH === 0) this.pushHash(level + 1, perfectRoot(arr.slice(arr.length - TILE_WIDTH)));
  }

  private async publish(cp: OfferedCheckpoint): Promise<void> {
    const started = performance.now();
    const size = cp.size;
    const parsed = parseCheckpointNote(cp.note).checkpoint;
    if (parsed.size !== size) throw invalidArgument('checkpoint.note', `a note for size ${size}`, `a note for size ${parsed.size}`);
    const completed: TileRef[] = [];
    const grows = size > this.pubSize;
    if (grows) {
      while (this.hashed < size) {
        const end = Math.min(size, this.hashed + HASH_CHUNK);
        for (let seq = this.hashed; seq < end; seq++) {
          const i = seq - this.hashed;
          const given = i < this.leaves.length ? this.leaves.get(i) : NO_LEAF;
          this.pushHash(0, given.length === 32 ? given : leafHash(this.entries.get(seq - this.entryBase)));
        }
        if (this.leaves.length > 0) this.leaves.dropFront(end - this.hashed);
        this.hashed = end;
        if (end < size) await yieldTick();
      }
      const writes: [string, Uint8Array][] = [];
      const fullBundles = Math.floor(size / TILE_WIDTH);
      for (let n = this.entryBase / TILE_WIDTH; n < fullBundles; n++) {
        const from = n * TILE_WIDTH - this.entryBase;
        writes.push([tilePath('entries', n), encodeBundle(this.entries.views(from, from + TILE_WIDTH))]);
        completed.push({ level: -1, n, width: TILE_WIDTH });
      }
      if (size % TILE_WIDTH > 0) {
        this.partials.add(`-1:${fullBundles}`);
        writes.push([tilePath('entries', fullBundles, size % TILE_WIDTH), encodeBundle(this.entries.views(fullBundles * TILE_WIDTH - this.entryBase, size - this.entryBase))]);
      }
      for (let level = 0; hashesAtLevel(size, level) > 0; level++) {
        const h = hashesAtLevel(size, level);
        const held = this.levels[level]!;
        const base = this.levelBase[level]!;
        const fullTiles = Math.floor(h / TILE_WIDTH);
        for (let n = base / TILE_WIDTH; n < fullTiles; n++) {
          const from = n * TILE_WIDTH - base;
          writes.push([tilePath(level, n), joinHashes(held.slice(from, from + TILE_WIDTH))]);
          completed.push({ level, n, width: TILE_WIDTH });
        }
        if (h % TILE_WIDTH > 0) this.partials.add(`${level}:${fullTiles}`);
        if (h % TILE_WIDTH > 0) writes.push([tilePath(level, fullTiles, h % TILE_WIDTH), joinHashes(held.slice(fullTiles * TILE_WIDTH - base, h - base))]);
      }
      await writeFilesAtomic(
        this.ops,
        writes.map(([rel, bytes]) => [join(this.dir, rel), bytes] as const),
        EXPORT_WRITE_CONCURRENCY,
      );
    }
    // The checkpoint goes last: a reader never sees a checkpoint whose tiles are missing.
    await writeFileAtomic(this.ops, join(this.dir, 'checkpoint'), cp.note);
    this.pubSize = size;
    this.pubNote = cp.note;
    this.pubTime = cp.time;
    this.lastPublishAt = this.now();
    this.metrics?.exportBatch.observe((performance.now() - started) / 1000);
    this.metrics?.exportCheckpoints.inc();
    if (!grows) return;
    this.trim(size);
    // tlog-tiles lets a log delete a partial tile once the full one is available, and no sooner.
    await this.deletePartials(completed);
  }

  /** Forget what is now in full bundles and full tiles on disk. */
  private trim(size: number): void {
    const entryBase = Math.floor(size / TILE_WIDTH) * TILE_WIDTH;
    this.entries.dropFront(entryBase - this.entryBase);
    this.entryBase = entryBase;
    for (let level = 0; level < this.levels.length; level++) {
      const base = Math.floor(hashesAtLevel(size, level) / TILE_WIDTH) * TILE_WIDTH;
      if (base > this.levelBase[level]!) {
        this.levels[level]!.splice(0, base - this.levelBase[level]!);
        this.levelBase[level] = base;
      }
    }
  }

  private async deletePartials(completed: readonly TileRef[]): Promise<void> {
    const had = completed.filter(({ level, n }) => this.partials.delete(`${level}:${n}`));
    await pool(had, EXPORT_WRITE_CONCURRENCY, async ({ level, n }) => {
      const lv: TileLevel = level < 0 ? 'entries' : level;
      const pdir = join(this.dir, `${tilePath(lv, n)}.p`);
      let names: string[];
      try {
        names = await this.ops.readdir(pdir);
      } catch {
        return; // none written (the tile filled within one publication) or already gone
      }
      for (const name of names) {
        try {
          await this.ops.unlink(join(pdir, name));
        } catch {
          // A partial left behind is still a valid prefix of the full tile; the verifier checks it as one.
        }
      }
    });
  }
}
