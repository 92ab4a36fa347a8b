import { constants } from 'node:fs';
import { join } from 'node:path';
import type { Histogram } from 'prom-client';
import { DIR_MODE, FILE_MODE, type FileHandleLike, type FileOps } from '../fs.js';
import { FRAME_CHECKPOINT, FRAME_HEADER, FRAME_RECORD, MAGIC, frameSize, writeFrame } from './frame.js';
import { headerPayload, segmentName } from './segment.js';

/**
 * The WAL writer (docs/format.md §9). One write and one fdatasync per batch, through the FileOps
 * seam and so on the libuv thread pool, never on the event loop. The caller signs a checkpoint
 * only after appendBatch resolves; the checkpoint frame rides in the next batch's write, or is
 * written and synced on its own when no batch follows within IDLE_CHECKPOINT_MS.
 */
export const IDLE_CHECKPOINT_MS = 50;

export interface WalWriterOptions {
  readonly dir: string;
  readonly ops: FileOps;
  readonly origin: string;
  readonly segmentBytes: number;
  readonly fsyncSeconds?: Histogram<string>;
  /** Called when an idle checkpoint write fails (batch writes reject instead). */
  readonly onError?: (err: unknown) => void;
}

const utf8 = new TextEncoder();

export class WalWriter {
  private fh: FileHandleLike | undefined;
  private segmentLength = 0;
  private pendingCheckpoint: Uint8Array | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(private readonly o: WalWriterOptions) {}

  /** Open for appending after recovery: continue `tail` or start the first segment at `nextSeq`. */
  static async open(o: WalWriterOptions, tail: { name: string; length: number } | undefined, nextSeq: number): Promise<WalWriter> {
    const w = new WalWriter(o);
    await o.ops.mkdir(o.dir, DIR_MODE);
    if (tail !== undefined) {
      w.fh = await o.ops.open(join(o.dir, tail.name), constants.O_WRONLY, FILE_MODE);
      w.segmentLength = tail.length;
    } else {
      await w.startSegment(nextSeq);
    }
    return w;
  }

  private async startSegment(firstSeq: number): Promise<void> {
    if (this.fh) await this.fh.close();
    const header = headerPayload(this.o.origin, firstSeq);
    const buf = new Uint8Array(MAGIC.length + frameSize(header.length));
    buf.set(MAGIC, 0);
    writeFrame(buf, MAGIC.length, FRAME_HEADER, header);
    const path = join(this.o.dir, segmentName(firstSeq));
    const fh = await this.o.ops.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE);
    this.fh = fh;
    await this.writeAll(buf, 0);
    await fh.sync();
    await this.o.ops.syncDir(this.o.dir);
    this.segmentLength = buf.length;
  }

  private async writeAll(buf: Uint8Array, position: number): Promise<void> {
    let off = 0;
    while (off < buf.length) off += (await this.fh!.write(buf, off, buf.length - off, position + off)).bytesWritten;
  }

  /** Serialize every file operation: batches, idle checkpoints and rotation never interleave. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Make records [firstSeq, firstSeq + records.length) durable. Group commit: batches handed over
   * while a write + fdatasync is in flight wait, and then go out together in one write and one
   * fdatasync — so under load one fsync covers several appender batches, and the throughput is
   * not capped at AUDIT_WAL_BATCH records per fsync latency.
   */
  appendBatch(firstSeq: number, records: readonly Uint8Array[]): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.queued.push({ firstSeq, records, resolve, reject }));
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      void this.serial(() => this.drain()).catch(() => undefined);
    }
    return done;
  }

  private queued: { firstSeq: number; records: readonly Uint8Array[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private drainScheduled = false;

  private async drain(): Promise<void> {
    // Batches that arrive from here on schedule the next drain, which runs after this one.
    this.drainScheduled = false;
    const group = this.queued;
    this.queued = [];
    if (group.length === 0) return;
    try {
      if (this.closed) throw new Error('WAL is closed');
      clearTimeout(this.idleTimer);
      if (this.segmentLength >= this.o.segmentBytes) {
        await this.flushCheckpointLocked();
        await this.startSegment(group[0]!.firstSeq);
      }
      const cp = this.pendingCheckpoint;
      let total = cp ? frameSize(cp.length) : 0;
      for (const g of group) for (const r of g.records) total += frameSize(r.length);
      const buf = Buffer.allocUnsafe(total);
      let off = cp ? writeFrame(buf, 0, FRAME_CHECKPOINT, cp) : 0;
      for (const g of group) for (const r of g.records) off = writeFrame(buf, off, FRAME_RECORD, r);
      await this.writeAll(buf, this.segmentLength);
      const t0 = performance.now();
      await this.fh!.datasync();
      this.o.fsyncSeconds?.observe((performance.now() - t0) / 1000);
      this.segmentLength += total;
      if (cp === this.pendingCheckpoint) this.pendingCheckpoint = undefined;
      for (const g of group) g.resolve();
    } catch (err) {
      for (const g of group) g.reject(err);
      throw err;
    }
  }

  /** Queue the checkpoint signed for the last batch; it is written with the next batch or after IDLE_CHECKPOINT_MS. */
  noteCheckpoint(note: string): void {
    if (this.closed) return;
    this.pendingCheckpoint = utf8.encode(note);
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.serial(() => this.flushCheckpointLocked()).catch((err: unknown) => this.o.onError?.(err));
    }, IDLE_CHECKPOINT_MS);
    this.idleTimer.unref();
  }

  private async flushCheckpointLocked(): Promise<void> {
    const cp = this.pendingCheckpoint;
    if (!cp || !this.fh) return;
    const buf = Buffer.allocUnsafe(frameSize(cp.length));
    writeFrame(buf, 0, FRAME_CHECKPOINT, cp);
    await this.writeAll(buf, this.segmentLength);
    const t0 = performance.now();
    await this.fh.datasync();
    this.o.fsyncSeconds?.observe((performance.now() - t0) / 1000);
    this.segmentLength += buf.length;
    if (cp === this.pendingCheckpoint) this.pendingCheckpoint = undefined;
  }

  /** Write the pending checkpoint now (durably). */
  flush(): Promise<void> {
    clearTimeout(this.idleTimer);
    return this.serial(() => this.flushCheckpointLocked());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.idleTimer);
    await this.serial(async () => {
      try {
        await this.flushCheckpointLocked();
      } finally {
        this.closed = true;
        await this.fh?.close();
        this.fh = undefined;
      }
    });
  }

  /** Abandon the file without writing (after a fault). */
  async abandon(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    try {
      await this.fh?.close();
    } catch {
      /* the disk already failed us; nothing more to lose */
    }
    this.fh = undefined;
  }
}
