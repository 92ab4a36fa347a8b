import { join } from 'node:path';
import type { AuditConfig } from '../config.js';
import { AuditError, type AuditErrorCode } from '../errors.js';
import { isSealed } from '../log/checkpoint.js';
import type { AppendedBatch, BatchDurability } from '../log/appender.js';
import type { MemoryLog, SignedCheckpoint } from '../log/memory.js';
import type { AuditLogger } from '../logger.js';
import type { AuditMetrics } from '../metrics.js';
import { ExportWriter } from './export/writer.js';
import { DIR_MODE, type FileOps } from './fs.js';
import { parseCheckpointNote, readOptional } from './export/reader.js';
import { PgShipper } from './pg/shipper.js';
import { readWal } from './wal/reader.js';
import type { RecoveryResult } from './wal/recover.js';
import { listSegments } from './wal/segment.js';
import { WalWriter } from './wal/writer.js';

/**
 * The Macronode sinks — WAL, export, PostgreSQL shipper — as the engine wires them to the log. They
 * consume what the log hands them (batches of record bytes, signed checkpoints) and never write
 * into it: recovering the WAL into the log is the engine's start (engine.ts), which then opens the
 * sinks on what it recovered.
 *
 * Faults: a WAL or export that fails (ENOSPC, EIO, EROFS, …) is dropped, the engine keeps chaining
 * and signing in memory ("amnesia"), and health/metrics/one log line say so. Records appended
 * while the WAL is down exist only in memory; they are not replayed into the WAL later, because
 * the WAL must stay a gap-free prefix of the log — a restart after the fault starts from the last
 * durable record (docs/runbook.md, "WAL degraded"). For the same reason the export (and the
 * PostgreSQL shipper) stop at the last durable record while the WAL is down.
 */

export type SinkName = 'wal' | 'export';

export interface SinkFault {
  readonly sink: SinkName | 'pg';
  readonly code: AuditErrorCode;
  readonly message: string;
}

/** Where close() moves the segments of a sealed log (format §14): out of the way of the next log. */
export const SEALED_WAL_SUBDIR = 'sealed';

export class Sinks {
  private wal: WalWriter | undefined;
  private exporter: ExportWriter | undefined;
  private readonly faults = new Map<SinkName, SinkFault>();
  /** When the export failed: the time of its newest published checkpoint (it keeps ageing). */
  private failedExportTime: number | undefined;
  private shipper: PgShipper | undefined;
  /** close() sealed the log: its WAL segments are moved aside after the writer closes. */
  private sealed = false;

  constructor(
    private readonly config: AuditConfig,
    private readonly ops: FileOps,
    private readonly metrics: AuditMetrics,
    private readonly logger: AuditLogger,
    private readonly log: MemoryLog,
  ) {}

  get walActive(): boolean {
    return this.wal !== undefined;
  }

  get enabled(): boolean {
    return this.config.walEnabled || this.config.exportEnabled;
  }

  /**
   * Open the writers on the log as recovered (`recovered`: what WAL recovery found, with the WAL
   * on), and bring the export up to the log.
   */
  async open(recovered: RecoveryResult | undefined): Promise<void> {
    if (this.config.walEnabled) {
      if (recovered === undefined) throw new AuditError('AUDIT_WAL_FAILED', 'the WAL is enabled but was not recovered before the sinks opened');
      const rec = recovered;
      this.wal = await WalWriter.open(
        {
          dir: this.config.walDir,
          ops: this.ops,
          origin: this.log.origin,
          segmentBytes: this.config.walSegmentBytes,
          commitIntervalMs: this.config.walWindowMs,
          fsyncSeconds: this.metrics.walFsync,
          onError: (err) => this.fail('wal', err),
          frontierAt: (size) => this.log.frontierAt(size),
        },
        rec.tail,
        rec.size,
        this.log.chainHead,
      );
      if (this.config.pgUrl !== undefined) {
        this.shipper = new PgShipper({
          url: this.config.pgUrl,
          schema: this.config.pgSchema,
          batch: this.config.pgBatch,
          walDir: this.config.walDir,
          ops: this.ops,
          origin: this.log.origin,
          logger: this.logger,
          shippedTotal: this.metrics.shipped,
          equivocations: this.metrics.equivocations,
          durableSize: rec.size,
          checkpoint: rec.checkpoint?.note,
        });
        // Not awaited: a database that is down must not keep the replica from serving.
        this.shipper.start();
      }
    }
    if (this.config.exportEnabled) {
      try {
        await this.openExport();
      } catch (err) {
        if (err instanceof AuditError && err.code === 'AUDIT_ROLLBACK') throw err;
        this.fail('export', err);
      }
    }
  }

  /** The export's published checkpoint, read without opening the writer (signatures are checked by the verifier, not here). */
  async peekExport(): Promise<{ origin: string; size: number; root: Uint8Array; sealed: boolean } | undefined> {
    const raw = await readOptional(this.ops, join(this.config.exportDir, 'checkpoint')).catch(() => null);
    if (raw === null) return undefined;
    try {
      const cp = parseCheckpointNote(raw).checkpoint;
      return { origin: cp.origin, size: cp.size, root: cp.root, sealed: isSealed(cp) };
    } catch {
      return undefined;
    }
  }

  private async openExport(): Promise<void> {
    const exp = await ExportWriter.open({
      dir: this.config.exportDir,
      every: this.config.checkpointEvery,
      intervalMs: this.config.checkpointIntervalMs,
      ops: this.ops,
      metrics: { exportBatch: this.metrics.exportBatch, exportCheckpoints: this.metrics.exportCheckpoints },
    });
    exp.onError = (err) => this.fail('export', err);
    const published = exp.publishedSize;
    const note = exp.publishedNote;
    if (note !== undefined && !note.startsWith(`${this.log.origin}\n`)) {
      throw new AuditError('AUDIT_EXPORT_FAILED', `export directory ${this.config.exportDir} belongs to another log; use a directory per log`);
    }
    if (published > this.log.size) {
      const msg = `export in ${this.config.exportDir} has a signed checkpoint of size ${published} but the log recovered only ${this.log.size} records`;
      if (this.config.walEnabled) throw new AuditError('AUDIT_ROLLBACK', `${msg}: refusing to roll back a signed tree size`, { published, recovered: this.log.size });
      throw new AuditError('AUDIT_EXPORT_FAILED', `${msg} (export without a WAL cannot survive a restart; enable AUDIT_WAL_ENABLED)`);
    }
    if (published < this.log.size) {
      // Bring the export up to the recovered log: from memory when still held, else from the WAL.
      const { first, records } = this.log.retained();
      if (first <= published) exp.addRecords(published, records.slice(published - first));
      else {
        const batch: Uint8Array[] = [];
        let next = published;
        for await (const e of readWal(this.config.walDir, this.ops)) {
          if (e.type !== 'record' || e.seq === undefined || e.seq < published || e.seq >= this.log.size) continue;
          if (e.seq !== next) throw new AuditError('AUDIT_EXPORT_FAILED', `WAL gap at seq ${next} while catching up the export`);
          batch.push(e.bytes);
          next++;
        }
        exp.addRecords(published, batch);
      }
    }
    this.exporter = exp;
  }

  /** After the recovered log is signed: offer that checkpoint to the export. */
  offerRecovered(cp: SignedCheckpoint | undefined): void {
    if (cp && this.exporter) this.exporter.offerCheckpoint({ note: cp.note, size: cp.size, time: cp.time });
  }

  private fail(sink: SinkName, err: unknown): void {
    if (this.faults.has(sink)) return;
    const code = sink === 'wal' ? 'AUDIT_WAL_FAILED' : 'AUDIT_EXPORT_FAILED';
    // The export wraps the system error in an AuditError and keeps its errno in details: name
    // ENOSPC/EIO/EROFS, not AUDIT_EXPORT_FAILED, so the operator sees a full disk as one.
    const wrapped = err instanceof AuditError && typeof err.details['errno'] === 'string' ? err.details['errno'] : undefined;
    const errno = wrapped ?? (err as NodeJS.ErrnoException)?.code;
    const message = `${sink} failed (${errno ?? (err as Error)?.message ?? String(err)}); degraded to amnesia for ${sink === 'wal' ? 'new records' : 'publication'}`;
    this.faults.set(sink, { sink, code, message });
    this.logger.error({ 'audit.degraded': sink, code, errno }, `audit.degraded=${sink} reason=${errno ?? 'error'}: ${message}`);
    if (sink === 'wal') {
      const w = this.wal;
      this.wal = undefined;
      void w?.abandon();
    } else {
      const e = this.exporter;
      // The newest published checkpoint keeps ageing after the export failed: the age gauge
      // must keep growing (the staleness alert), not freeze at its last value.
      this.failedExportTime = e?.publishedTime;
      this.exporter = undefined;
      void e?.close().catch(() => undefined);
    }
  }

  /** The appender's beforeSign: make the batch durable (one write + one fsync), then hand it on. */
  async beforeSign(batch: AppendedBatch): Promise<BatchDurability> {
    let durability: BatchDurability = this.config.walEnabled ? 'failed' : 'memory';
    if (this.wal) {
      try {
        await this.wal.appendBatch(batch.firstSeq, batch.records, batch.checkpoint);
        durability = 'durable';
        this.shipper?.offer(batch.firstSeq, batch.records);
      } catch (err) {
        this.fail('wal', err);
      }
    }
    // After a WAL fault the export stops at the last durable record, as the shipper does: an
    // export ahead of the WAL would make the restart after the fault a roll-back (AUDIT_ROLLBACK).
    if (this.exporter && durability !== 'failed') {
      try {
        this.exporter.addRecords(batch.firstSeq, batch.records, batch.leaves);
      } catch (err) {
        this.fail('export', err);
      }
    }
    return durability;
  }

  /** `written`: the WAL wrote it with its batch (protocol 2); otherwise it is a commit of its own. */
  onCheckpoint(cp: SignedCheckpoint, written = false): void {
    // Only while the WAL holds the log: after a WAL fault the shipper stops at the last durable record.
    if (this.wal) this.shipper?.noteCheckpoint(cp.note, cp.size, cp.time);
    if (!written) this.wal?.noteCheckpoint(cp.note);
    if (this.wal || !this.config.walEnabled) this.exporter?.offerCheckpoint({ note: cp.note, size: cp.size, time: cp.time });
  }

  /** While a flush or close waits: the WAL writes without pacing (see WalWriter.expedite). */
  expedite(): () => void {
    return this.wal?.expedite() ?? (() => undefined);
  }

  /** Hot reload of AUDIT_WAL_WINDOW_MS: the WAL's group-commit pacing (from its next write on). */
  setWalWindow(ms: number): void {
    this.wal?.setCommitInterval(ms);
  }

  /** Hot reload of the export cadence; applies to the checkpoint already waiting too. */
  setCadence(every: number, intervalMs: number): void {
    this.exporter?.setCadence(every, intervalMs);
  }

  degraded(): SinkFault[] {
    const pg = this.shipper?.current;
    return pg === undefined ? [...this.faults.values()] : [...this.faults.values(), { sink: 'pg', code: pg.code, message: pg.message }];
  }

  /** Records durable in the WAL but not yet in PostgreSQL; undefined when not shipping. */
  shipLag(): number | undefined {
    return this.shipper?.lag;
  }

  /**
   * Graceful shutdown with PostgreSQL shipping (format §14): once every record is in the
   * database, sign the sealed checkpoint, commit it there, then write it to the WAL. Any step
   * that cannot finish by the deadline leaves the log unsealed — a restart then continues it,
   * as after a crash. Resolves whether the log is sealed.
   */
  async seal(sign: () => Promise<SignedCheckpoint | undefined>, deadline: number): Promise<boolean> {
    const shipper = this.shipper;
    const wal = this.wal;
    if (shipper === undefined || wal === undefined || this.faults.has('wal')) return false;
    const unsealed = (why: string): false => {
      this.logger.warn({ 'audit.sealed': 0, lag: shipper.lag }, `audit pg: log ${this.log.origin} not sealed: ${why}; a restart continues it`);
      return false;
    };
    if (!(await shipper.drain(deadline))) return unsealed(`${shipper.lag} records not in PostgreSQL by the close deadline${shipper.current ? ` (${shipper.current.message})` : ''}`);
    const cp = await sign();
    if (cp === undefined) return unsealed('no signing key');
    if (!(await shipper.shipSeal(cp.note, deadline))) return unsealed('the sealed checkpoint did not reach PostgreSQL');
    try {
      wal.noteCheckpoint(cp.note);
      await wal.flush();
    } catch (err) {
      this.fail('wal', err);
      return unsealed('writing the seal to the WAL failed');
    }
    this.sealed = true;
    this.exporter?.offerCheckpoint({ note: cp.note, size: cp.size, time: cp.time });
    this.logger.info({ 'audit.sealed': 1, size: cp.size, origin: this.log.origin }, `audit pg: log ${this.log.origin} sealed at size ${cp.size}`);
    return true;
  }

  /** Move the WAL segments into <walDir>/sealed/<time>-<pid>/ (fsynced): the next start begins a new log. */
  async archiveSealed(): Promise<string> {
    const dir = this.config.walDir;
    const target = join(dir, SEALED_WAL_SUBDIR, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
    await this.ops.mkdir(target, DIR_MODE);
    for (const seg of listSegments(await this.ops.readdir(dir))) await this.ops.rename(join(dir, seg.name), join(target, seg.name));
    await this.ops.syncDir(target);
    await this.ops.syncDir(dir);
    return target;
  }

  exportAgeSeconds(): number | undefined {
    const t = this.exporter?.publishedTime ?? this.failedExportTime;
    return t === undefined ? undefined : (Date.now() - t) / 1000;
  }

  async flush(): Promise<void> {
    await this.wal?.flush().catch((err: unknown) => this.fail('wal', err));
    await this.exporter?.flush().catch((err: unknown) => this.fail('export', err));
  }

  async close(): Promise<void> {
    await this.shipper?.close();
    await this.wal?.close().catch((err: unknown) => this.fail('wal', err));
    if (this.sealed && !this.faults.has('wal')) {
      await this.archiveSealed().catch((err: unknown) => this.logger.error({ err }, `audit: moving the sealed WAL aside failed; the next start will finish it`));
    }
    await this.exporter?.close().catch((err: unknown) => this.fail('export', err));
  }
}
