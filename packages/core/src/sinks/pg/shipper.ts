import { createHash } from 'node:crypto';
import type { Counter } from 'prom-client';
import { AuditError, type AuditErrorCode } from '../../errors.js';
import { isSealed, parseCheckpoint } from '../../log/checkpoint.js';
import { nextLink } from '../../log/chain.js';
import type { AuditLogger } from '../../logger.js';
import { parseNote } from '../../sign/note.js';
import type { FileOps } from '../fs.js';
import { readWal } from '../wal/reader.js';
import { recordLinks } from '../wal/links.js';
import { connectPg, pgError, type PgClient } from './driver.js';
import { EQUIVOCATION_SQLSTATE, statements } from './schema.js';

/**
 * The PostgreSQL shipper (docs/scaling.md, format §14): copies this log's durable records and
 * its signed checkpoints into the shared database, in transactions of up to `batch` records,
 * idempotently (primary key (log_id, seq), ON CONFLICT DO NOTHING).
 *
 * It never blocks the appender: the log hands it each batch after the WAL fsync (`offer`) and
 * each signed checkpoint (`noteCheckpoint`); one async loop ships them. Memory is bounded: the
 * batches it holds stay under MAX_BUFFER_BYTES, and whatever it did not hold — because it was
 * behind, PostgreSQL was down, or the process restarted — is read back from the WAL, starting at
 * the database's own high-water mark for this log.
 *
 * It ships only records that are durable in the WAL, so PostgreSQL is always a gap-free prefix of
 * the log that a restart recovers. A stored record with the same seq and another hash, or a
 * stored chain that does not lead into our next record, is equivocation: nothing is overwritten,
 * shipping of this log stops, and `audit_equivocation_total` and the log say so.
 */

/** Records held in memory for shipping; beyond this the shipper reads the WAL instead. */
export const MAX_BUFFER_BYTES = 8 * 1024 * 1024;
/** A live log's newest checkpoint reaches the database at most this long after it was signed. */
export const CHECKPOINT_SHIP_INTERVAL_MS = 1000;
export const RETRY_MIN_MS = 100;
export const RETRY_MAX_MS = 2000;
/** How long close() lets a statement in flight finish before it ends the connection. */
export const CLOSE_GRACE_MS = 500;

export interface ShipFault {
  readonly code: AuditErrorCode;
  readonly message: string;
  /** Equivocation or a sealed origin: shipping of this log has stopped for good. */
  readonly permanent: boolean;
}

interface Cp {
  readonly note: string;
  readonly size: number;
  readonly time: number | undefined;
  readonly sealed: boolean;
}

export interface ShipperOptions {
  readonly url: string;
  readonly schema: string;
  readonly batch: number;
  readonly walDir: string;
  readonly ops: FileOps;
  readonly origin: string;
  readonly logger: AuditLogger;
  readonly shippedTotal: Counter<string>;
  readonly equivocations: Counter<string>;
  /** Records durable in the WAL when shipping starts (the recovered size). */
  readonly durableSize: number;
  /** The newest signed checkpoint the WAL recovered. */
  readonly checkpoint?: string | undefined;
  /** Bound on the records held in memory (default MAX_BUFFER_BYTES). */
  readonly bufferBytes?: number;
}

class Equivocation extends AuditError {}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const TIME_KEY = Buffer.from('"time":"');

/**
 * The record's `time` member without a parse: in JCS order the members after the top-level
 * `time` are `trace_id` and `v` (a hex string and a number), and a `"time":"` inside any string
 * would be escaped, so the last occurrence is the top-level one.
 */
export function recordTime(bytes: Uint8Array): string | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const i = b.lastIndexOf(TIME_KEY);
  if (i < 0) return null;
  const t = b.toString('latin1', i + TIME_KEY.length, i + TIME_KEY.length + 24);
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(t) ? t : null;
}

function parseCp(note: string): Cp | undefined {
  try {
    const cp = parseCheckpoint(parseNote(note).text);
    return { note, size: cp.size, time: cp.time, sealed: isSealed(cp) };
  } catch {
    return undefined;
  }
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class PgShipper {
  private readonly sql: ReturnType<typeof statements>;
  private durable: number;
  /** Records of this log committed in PostgreSQL (the database's high-water mark once connected). */
  private shipped = 0;
  private client: PgClient | undefined;
  private logId: string | undefined;
  /** The first batch after a (re)connect checks that the stored chain leads into it. */
  private checkPrev = true;
  private buf: Uint8Array[] = [];
  private bufFirst = 0;
  private bufBytes = 0;
  private liveCp: Cp | undefined;
  private sealCp: Cp | undefined;
  private shippedCpSize = -1;
  private shippedCpAt = 0;
  private sealShipped = false;
  private fault: ShipFault | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private backoff = RETRY_MIN_MS;
  private closed = false;
  /** While draining for close: ship the newest checkpoint without waiting for the cadence. */
  private draining = false;
  private progress: (() => void)[] = [];

  constructor(private readonly o: ShipperOptions) {
    this.sql = statements(o.schema);
    this.durable = o.durableSize;
    this.liveCp = o.checkpoint === undefined ? undefined : parseCp(o.checkpoint);
  }

  /** Records durable locally but not yet in PostgreSQL (counted from 0 until the first connection). */
  get lag(): number {
    return Math.max(0, this.durable - this.shipped);
  }

  get current(): ShipFault | undefined {
    const f = this.fault;
    if (f === undefined || f.permanent) return f;
    return { ...f, message: `${f.message}; ${this.lag} records wait in the WAL and ship when the database answers` };
  }

  get highWater(): number {
    return this.shipped;
  }

  start(): void {
    this.kick();
  }

  /** A batch is durable in the WAL: ship it (from memory while there is room, else later from the WAL). */
  offer(firstSeq: number, records: readonly Uint8Array[]): void {
    if (this.closed || records.length === 0) return;
    this.durable = Math.max(this.durable, firstSeq + records.length);
    let bytes = 0;
    for (const r of records) bytes += r.length;
    if (this.buf.length === 0) this.bufFirst = firstSeq;
    if (this.bufFirst + this.buf.length === firstSeq && this.bufBytes + bytes <= (this.o.bufferBytes ?? MAX_BUFFER_BYTES)) {
      for (const r of records) this.buf.push(r);
      this.bufBytes += bytes;
    }
    this.kick();
  }

  noteCheckpoint(note: string, size: number, time: number): void {
    if (this.closed) return;
    this.liveCp = { note, size, time, sealed: false };
    this.kick();
  }

  /** Ship everything durable and the newest checkpoint; resolves true once done, false at the deadline or on a fault. */
  async drain(deadline: number): Promise<boolean> {
    this.draining = true;
    for (;;) {
      if (this.fault?.permanent) return false;
      if (this.shipped >= this.durable && (this.liveCp === undefined || this.shippedCpSize >= this.liveCp.size) && this.running === undefined) return true;
      if (Date.now() >= deadline) return false;
      this.kick();
      await this.waitProgress(Math.min(100, deadline - Date.now()));
    }
  }

  /** Commit the sealed checkpoint (format §14) after everything before it; true once it is in the database. */
  async shipSeal(note: string, deadline: number): Promise<boolean> {
    const cp = parseCp(note);
    if (cp === undefined || !cp.sealed) throw new AuditError('AUDIT_INVALID_ARGUMENT', 'shipSeal needs a sealed checkpoint note');
    this.sealCp = cp;
    this.draining = true;
    for (;;) {
      if (this.sealShipped) return true;
      if (this.fault?.permanent || Date.now() >= deadline) return false;
      this.kick();
      await this.waitProgress(Math.min(100, deadline - Date.now()));
    }
  }

  /** Stop shipping. What is not shipped stays in the WAL; the next start ships it. */
  async close(): Promise<void> {
    this.closed = true;
    this.draining = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    // A statement stuck on an unreachable server must not hold close() past its own deadline:
    // wait briefly, then end the connection under it (its query fails; nothing half-done stays).
    const running = this.running;
    if (running !== undefined) {
      let t: NodeJS.Timeout | undefined;
      await Promise.race([running, new Promise<void>((r) => (t = setTimeout(r, CLOSE_GRACE_MS)))]);
      clearTimeout(t);
    }
    // Ending waits for the server's goodbye: hold the event loop for it.
    this.hold(true);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
    this.wakeProgress();
  }

  private waitProgress(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, Math.max(1, ms));
      this.progress.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private wakeProgress(): void {
    const list = this.progress;
    this.progress = [];
    for (const w of list) w();
  }

  private kick(): void {
    if (this.closed && !this.draining) return;
    if (this.fault?.permanent) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.hold(true);
    this.running = this.loop().finally(() => {
      this.running = undefined;
      this.hold(false);
      this.wakeProgress();
    });
  }

  /**
   * The idle connection does not keep the host's event loop alive (a host that never calls
   * close() can still exit; what was not shipped stays in the WAL and ships after the next start);
   * while statements run, it does — else a host that is closing could exit mid-transaction.
   */
  private hold(on: boolean): void {
    const stream = (this.client as unknown as { connection?: { stream?: { ref?: () => void; unref?: () => void } } } | undefined)?.connection?.stream;
    if (on) stream?.ref?.();
    else stream?.unref?.();
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined || this.fault?.permanent || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, ms);
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        if (this.client === undefined) await this.connect();
        await this.shipPending();
        if (this.fault !== undefined) {
          this.o.logger.info({ 'audit.degraded': 'pg', 'audit.recovered': 1, shipped: this.shipped }, `audit pg: shipping resumed; database holds ${this.shipped} records of ${this.o.origin}`);
          this.fault = undefined;
        }
        this.backoff = RETRY_MIN_MS;
      } catch (err) {
        this.failed(err);
        return;
      }
    } while (this.again && !this.closed);
  }

  private failed(err: unknown): void {
    const c = this.client;
    this.client = undefined;
    void c?.end().catch(() => undefined);
    if (err instanceof Equivocation) {
      this.fault = { code: err.code, message: err.message, permanent: true };
      if (err.code === 'AUDIT_EQUIVOCATION') this.o.equivocations.inc();
      this.o.logger.error({ 'audit.equivocation': err.code === 'AUDIT_EQUIVOCATION' ? 1 : 0, code: err.code, origin: this.o.origin, ...err.details }, `audit pg: ${err.code}: ${err.message}`);
      return;
    }
    const e = pgError(err, 'shipping to PostgreSQL');
    if (this.fault === undefined) this.o.logger.warn({ 'audit.degraded': 'pg', code: e.code, lag: this.lag }, `audit.degraded=pg reason=${e.code}: ${e.message}`);
    this.fault = { code: e.code, message: e.message, permanent: e.code === 'AUDIT_PG_DRIVER_MISSING' };
    if (this.closed) return;
    this.schedule(this.backoff);
    this.backoff = Math.min(RETRY_MAX_MS, this.backoff * 2);
  }

  private async connect(): Promise<void> {
    const client = await connectPg(this.o.url, { applicationName: 'ron-audit shipper' });
    try {
      await client.query(this.sql.ensureLog, [this.o.origin]);
      const id = (await client.query<{ log_id: string }>(this.sql.logId, [this.o.origin])).rows[0]?.log_id;
      if (id === undefined) throw new AuditError('AUDIT_PG_UNAVAILABLE', `cannot register log ${this.o.origin}`);
      const next = Number((await client.query<{ next: string }>(this.sql.highWater, [id])).rows[0]?.next ?? 0);
      const sealed = (await client.query<{ size: string }>(this.sql.sealedSize, [id])).rows[0];
      if (sealed !== undefined && !(this.sealCp !== undefined && Number(sealed.size) === this.sealCp.size)) {
        throw new Equivocation('AUDIT_LOG_SEALED', `PostgreSQL holds log ${this.o.origin} sealed at size ${sealed.size}: it is finished, and this process would append to it. Give this process a new AUDIT_ORIGIN (include a boot id)`, { size: Number(sealed.size) });
      }
      if (next > this.durable) {
        throw new Equivocation('AUDIT_EQUIVOCATION', `PostgreSQL holds ${next} records of log ${this.o.origin} but this replica's WAL has only ${this.durable}: its WAL was lost or replaced, or another process writes this origin. Nothing was shipped`, { stored: next, local: this.durable });
      }
      if (this.closed && !this.draining) throw new AuditError('AUDIT_CLOSED', 'shipper closed while connecting');
      this.logId = id;
      this.shipped = next;
      this.checkPrev = true;
      this.client = client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  }

  private async shipPending(): Promise<void> {
    while (this.shipped < this.durable && !(this.closed && !this.draining)) {
      const from = this.shipped;
      if (this.buf.length > 0 && this.bufFirst <= from && from < this.bufFirst + this.buf.length) {
        const start = from - this.bufFirst;
        const records = this.buf.slice(start, start + this.o.batch);
        await this.shipBatch(from, records, undefined);
      } else {
        await this.catchUpFromWal();
      }
    }
    const seal = this.sealCp;
    if (seal !== undefined && !this.sealShipped && seal.size <= this.shipped) {
      await this.shipBatch(this.shipped, [], seal);
      return;
    }
    const cp = this.liveCp;
    if (cp !== undefined && cp.size > this.shippedCpSize && cp.size <= this.shipped) {
      const wait = this.shippedCpAt + CHECKPOINT_SHIP_INTERVAL_MS - Date.now();
      if (this.draining || wait <= 0) await this.shipBatch(this.shipped, [], cp);
      else this.schedule(wait);
    }
  }

  /** Ship [shipped, durable) from the WAL until the in-memory batches take over. */
  private async catchUpFromWal(): Promise<void> {
    const end = this.durable;
    let first = this.shipped;
    let batch: Uint8Array[] = [];
    let walCp: Cp | undefined;
    const take = (): Cp | undefined => (walCp !== undefined && walCp.size <= first + batch.length ? walCp : undefined);
    for await (const e of readWal(this.o.walDir, this.o.ops, first)) {
      if (e.type === 'checkpoint') {
        const cp = parseCp(utf8.decode(e.bytes));
        if (cp !== undefined && cp.size <= end) walCp = cp;
        continue;
      }
      if (e.type !== 'record' || e.seq === undefined || e.seq < first + batch.length) continue;
      if (e.seq >= end) break;
      if (e.seq !== first + batch.length) throw new AuditError('AUDIT_WAL_CORRUPT', `WAL in ${this.o.walDir} has no record ${first + batch.length} (next is ${e.seq}) while shipping`);
      batch.push(e.bytes);
      if (batch.length >= this.o.batch) {
        await this.shipBatch(first, batch, take());
        first += batch.length;
        batch = [];
        if (this.closed && !this.draining) return;
        // Caught up with what is still held in memory: ship from there.
        if (this.buf.length > 0 && this.bufFirst <= first) return;
      }
    }
    if (batch.length > 0) {
      await this.shipBatch(first, batch, take());
      first += batch.length;
    }
    if (first < end) throw new AuditError('AUDIT_WAL_CORRUPT', `WAL in ${this.o.walDir} ends at record ${first}, but ${end} are durable`);
  }

  /** The checkpoint to ship with a batch ending at `end`, if one is due. */
  private due(end: number, fromWal: Cp | undefined): Cp | undefined {
    let cp = this.liveCp !== undefined && this.liveCp.size <= end ? this.liveCp : undefined;
    if (fromWal !== undefined && (cp === undefined || fromWal.size > cp.size)) cp = fromWal;
    if (cp === undefined || cp.size <= this.shippedCpSize) return undefined;
    return this.draining || cp.sealed || Date.now() - this.shippedCpAt >= CHECKPOINT_SHIP_INTERVAL_MS ? cp : undefined;
  }

  private async shipBatch(first: number, records: readonly Uint8Array[], fromWal: Cp | undefined): Promise<void> {
    const client = this.client!;
    const id = this.logId!;
    const n = records.length;
    const end = first + n;
    const cp = fromWal?.sealed ? fromWal : this.due(end, fromWal);
    const hashes = records.map((r) => Buffer.from(nextLink(r)));
    if (n > 0 && cp === undefined && !this.checkPrev) {
      await this.shipFast(client, id, first, records, hashes);
      this.shipped = Math.max(this.shipped, end);
      this.trim();
      this.wakeProgress();
      return;
    }
    // One round trip for BEGIN and the lock (the log id is a number the database gave us).
    await client.query(`BEGIN; ${this.sql.lock.replace('$1', String(BigInt(id)))}`);
    try {
      let inserted = 0;
      if (n > 0) {
        const params: unknown[] = [id];
        for (let i = 0; i < n; i++) {
          const r = records[i]!;
          params.push(first + i, recordTime(r), hashes[i], Buffer.from(r.buffer, r.byteOffset, r.byteLength));
        }
        const res = await client.query<{ seq: string }>(this.insertSql(n), params);
        inserted = res.rowCount ?? res.rows.length;
        if (inserted < n) await this.compareStored(client, id, first, hashes, new Set(res.rows.map((r) => Number(r.seq))));
        if (this.checkPrev && first > 0) await this.checkChain(client, id, first, records[0]!);
      }
      if (cp !== undefined) {
        const r = await client.query(this.sql.insertCheckpoint, [id, cp.size, sha256(cp.note), cp.note, cp.time === undefined ? null : new Date(cp.time).toISOString(), cp.sealed]);
        if (cp.sealed && (r.rowCount ?? 0) === 0) {
          const stored = (await client.query<{ size: string }>(this.sql.sealedSize, [id])).rows[0];
          if (stored !== undefined && Number(stored.size) !== cp.size) throw new Equivocation('AUDIT_LOG_SEALED', `PostgreSQL already holds log ${this.o.origin} sealed at size ${stored.size}`, { size: Number(stored.size) });
        }
      }
      await client.query('COMMIT');
      if (inserted > 0) this.o.shippedTotal.inc(inserted);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    this.checkPrev = false;
    this.shipped = Math.max(this.shipped, end);
    if (cp !== undefined) {
      this.shippedCpSize = Math.max(this.shippedCpSize, cp.size);
      this.shippedCpAt = Date.now();
      if (cp.sealed) this.sealShipped = true;
    }
    this.trim();
    this.wakeProgress();
  }

  /** Records only, in one autocommit statement (the common case while live). */
  private async shipFast(client: PgClient, id: string, first: number, records: readonly Uint8Array[], hashes: readonly Buffer[]): Promise<void> {
    const params: unknown[] = [id];
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      params.push(first + i, recordTime(r), hashes[i], Buffer.from(r.buffer, r.byteOffset, r.byteLength));
    }
    let sql = this.fastCache.get(records.length);
    if (sql === undefined) this.fastCache.set(records.length, (sql = this.sql.shipRecords(records.length)));
    try {
      const res = await client.query<{ inserted: number }>(sql, params);
      const inserted = res.rows[0]?.inserted ?? 0;
      if (inserted > 0) this.o.shippedTotal.inc(inserted);
    } catch (err) {
      if ((err as { code?: unknown }).code !== EQUIVOCATION_SQLSTATE) throw err;
      const seq = Number(/seq (\d+)/.exec((err as Error).message)?.[1] ?? first);
      throw new Equivocation('AUDIT_EQUIVOCATION', `PostgreSQL holds another record at seq ${seq} of log ${this.o.origin}: two writers use this origin. Nothing was overwritten; shipping of this log stops`, { seq });
    }
  }

  private readonly fastCache = new Map<number, string>();

  /** Records that were already stored must be byte-identical (same hash) to ours. */
  private async compareStored(client: PgClient, id: string, first: number, hashes: readonly Buffer[], inserted: ReadonlySet<number>): Promise<void> {
    const missing = hashes.map((_h, i) => first + i).filter((s) => !inserted.has(s));
    const rows = (await client.query<{ seq: string; hash: Buffer }>(this.sql.storedHashes, [id, missing])).rows;
    for (const row of rows) {
      const seq = Number(row.seq);
      if (!row.hash.equals(hashes[seq - first]!)) {
        throw new Equivocation('AUDIT_EQUIVOCATION', `PostgreSQL holds another record at seq ${seq} of log ${this.o.origin} (stored hash ${row.hash.toString('hex').slice(0, 16)}…, ours ${hashes[seq - first]!.toString('hex').slice(0, 16)}…): two writers use this origin. Nothing was overwritten; shipping of this log stops`, { seq });
      }
    }
  }

  /** After a (re)connect: the stored record before our first must be the one our chain links to. */
  private async checkChain(client: PgClient, id: string, first: number, record: Uint8Array): Promise<void> {
    const stored = (await client.query<{ hash: Buffer }>(this.sql.storedHash, [id, first - 1])).rows[0];
    const prev = recordLinks(record)?.prev;
    if (stored === undefined) throw new AuditError('AUDIT_PG_UNAVAILABLE', `PostgreSQL has no record ${first - 1} of log ${this.o.origin} to continue from`);
    if (prev === undefined || stored.hash.toString('hex') !== prev) {
      throw new Equivocation('AUDIT_EQUIVOCATION', `PostgreSQL's record ${first - 1} of log ${this.o.origin} is not the one record ${first} links to: two writers use this origin. Nothing was overwritten; shipping of this log stops`, { seq: first - 1 });
    }
  }

  private readonly insertCache = new Map<number, string>();

  private insertSql(n: number): string {
    let sql = this.insertCache.get(n);
    if (sql === undefined) this.insertCache.set(n, (sql = this.sql.insertRecords(n)));
    return sql;
  }

  private trim(): void {
    const drop = Math.min(this.buf.length, this.shipped - this.bufFirst);
    if (drop <= 0) return;
    for (let i = 0; i < drop; i++) this.bufBytes -= this.buf[i]!.length;
    this.buf.splice(0, drop);
    this.bufFirst += drop;
  }
}
