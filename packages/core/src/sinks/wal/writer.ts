import { constants } from 'node:fs';
import { join } from 'node:path';
import type { Histogram } from 'prom-client';
import { DIR_MODE, FILE_MODE, type FileHandleLike, type FileOps } from '../fs.js';
import { FRAME_CHECKPOINT, FRAME_HEADER, FRAME_RECORD, FRAME_SYNC, MAGIC, SYNC_PAYLOAD_BYTES, frameSize, syncPayload, writeFrame } from './frame.js';
import { toHex } from '../../prim/hex.js';
import { recordLinks } from './links.js';
import { WAL_PROTOCOL, headerPayload, segmentName, type SegmentState, type WalProtocol } from './segment.js';

/**
 * The WAL writer, protocol 2 (docs/format.md §9.1). Every write is one or more commits — a batch's
 * record frames followed by the checkpoint signed for them — then one fdatasync, then a sync mark
 * (a plain write) that tells recovery those bytes were synced. All of it goes through the FileOps
 * seam and so on the libuv thread pool, never on the event loop.
 */

export interface WalWriterOptions {
  readonly dir: string;
  readonly ops: FileOps;
  readonly origin: string;
  readonly segmentBytes: number;
  readonly fsyncSeconds?: Histogram<string>;
  /** Called when a lone checkpoint's write fails (batch writes reject instead). */
  readonly onError?: (err: unknown) => void;
  /**
   * The tree's frontier at a size, for the header of a segment starting there (format §9.5: what
   * lets recovery start at the newest segment); undefined when it cannot be had (evicted).
   */
  readonly frontierAt?: (size: number) => readonly Uint8Array[] | undefined;
  /**
   * Group-commit pacing (AUDIT_WAL_WINDOW_MS): a write starts at most this long after the previous
   * one started, so under load each fsync covers what arrived meanwhile and the fixed cost of a
   * commit (three thread-pool calls, the fdatasync's kernel work) is shared by more records.
   * 0: a write starts as soon as the previous one's fsync returned.
   */
  readonly commitIntervalMs?: number;
}

/** Where the writer continues after recovery. */
export interface WalTail {
  readonly name: string;
  readonly firstSeq: number;
  readonly length: number;
  readonly protocol: WalProtocol;
  /** Records the segment holds. */
  readonly records: number;
}

const utf8 = new TextEncoder();

interface Pending {
  readonly firstSeq: number;
  readonly records: readonly Uint8Array[];
  /** The checkpoint signed for this batch's end size, or undefined if signing failed (§9.1). */
  readonly note: Promise<string | undefined> | string | undefined;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class WalWriter {
  private fh: FileHandleLike | undefined;
  private segmentLength = 0;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** Whether the last write ended with a checkpoint: a segment ends only on a commit boundary. */
  private atCommit = true;

  private constructor(private readonly o: WalWriterOptions) {
    this.intervalMs = o.commitIntervalMs ?? 0;
  }

  /**
   * Open for appending after recovery: continue a protocol 2 `tail`, or start a new segment at
   * `nextSeq` (no tail yet, or a protocol 1 tail, which is never appended to: §9.3).
   */
  static async open(o: WalWriterOptions, tail: WalTail | undefined, nextSeq: number, head?: Uint8Array): Promise<WalWriter> {
    const w = new WalWriter(o);
    await o.ops.mkdir(o.dir, DIR_MODE);
    if (tail !== undefined && tail.protocol === WAL_PROTOCOL) {
      w.fh = await o.ops.open(join(o.dir, tail.name), constants.O_WRONLY, FILE_MODE);
      w.segmentLength = tail.length;
    } else if (tail !== undefined && tail.records === 0) {
      // A protocol 1 segment with no records has the name a new segment at nextSeq needs. Its
      // checkpoint frames cover records of earlier segments, and the checkpoint the engine signs
      // for the recovered size supersedes them: replace it atomically with an empty protocol 2 one.
      await w.startSegment(nextSeq, true, head && toHex(head));
    } else {
      await w.startSegment(nextSeq, false, head && toHex(head));
    }
    return w;
  }

  private async startSegment(firstSeq: number, replace: boolean, prev: string | undefined): Promise<void> {
    if (this.fh) await this.fh.close();
    this.fh = undefined;
    const header = headerPayload(this.o.origin, firstSeq, WAL_PROTOCOL, this.stateAt(firstSeq, prev));
    const buf = new Uint8Array(MAGIC.length + frameSize(header.length));
    buf.set(MAGIC, 0);
    writeFrame(buf, MAGIC.length, FRAME_HEADER, header);
    const path = join(this.o.dir, segmentName(firstSeq));
    const target = replace ? `${path}.v2.tmp` : path;
    const fh = await this.o.ops.open(target, constants.O_WRONLY | constants.O_CREAT | (replace ? constants.O_TRUNC : constants.O_EXCL), FILE_MODE);
    this.fh = fh;
    await this.writeAll(buf, 0);
    await fh.sync();
    if (replace) await this.o.ops.rename(target, path);
    await this.o.ops.syncDir(this.o.dir);
    this.segmentLength = buf.length;
  }

  private stateAt(firstSeq: number, prev: string | undefined): SegmentState | undefined {
    if (firstSeq === 0 || prev === undefined) return undefined;
    let nodes: readonly Uint8Array[] | undefined;
    try {
      nodes = this.o.frontierAt?.(firstSeq);
    } catch {
      // Evicted from memory: this segment's header carries no state, and recovery starts at an earlier one.
      nodes = undefined;
    }
    return nodes === undefined ? undefined : { prev, tree: nodes.map(toHex) };
  }

  private async writeAll(buf: Uint8Array, position: number): Promise<void> {
    let off = 0;
    while (off < buf.length) off += (await this.fh!.write(buf, off, buf.length - off, position + off)).bytesWritten;
  }

  /** Serialize every file operation: commits and rotation never interleave. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Make records [firstSeq, firstSeq + records.length) durable as a commit ending in `note`, the
   * checkpoint signed for them. Group commit: batches handed over while a write + fdatasync is in
   * flight wait, and then go out together in one write and one fdatasync — so under load one
   * fsync covers several appender batches, and the throughput is not capped at AUDIT_WAL_BATCH
   * records per fsync latency. Resolves after the fdatasync and the sync mark.
   */
  appendBatch(firstSeq: number, records: readonly Uint8Array[], note?: Promise<string | undefined> | string): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.queued.push({ firstSeq, records, note, resolve, reject }));
    this.scheduleDrain(false);
    return done;
  }

  private queued: Pending[] = [];
  private drainScheduled = false;
  private paceTimer: NodeJS.Timeout | undefined;
  private lastWriteAt = -Infinity;
  private intervalMs: number;

  /** Hot reload of AUDIT_WAL_WINDOW_MS: applies from the next write on. */
  setCommitInterval(ms: number): void {
    this.intervalMs = ms;
  }

  private hurrying = 0;

  /**
   * Until the returned function is called, writes are not paced (a flush or close waiting for
   * everything handed over): a paced write pending now starts at once.
   */
  expedite(): () => void {
    this.hurrying++;
    if (this.queued.length > 0) this.scheduleDrain(true);
    let done = false;
    return () => {
      if (!done) this.hurrying--;
      done = true;
    };
  }

  /** Queue the next group commit: paced by the commit interval, or at once (`now`: flush, close). */
  private scheduleDrain(now: boolean): void {
    now ||= this.hurrying > 0;
    if (this.drainScheduled) {
      if (now && this.paceTimer !== undefined) {
        clearTimeout(this.paceTimer);
        this.paceTimer = undefined;
        this.startDrain();
      }
      return;
    }
    this.drainScheduled = true;
    const wait = now ? 0 : this.lastWriteAt + this.intervalMs - performance.now();
    if (wait > 0) {
      this.paceTimer = setTimeout(() => {
        this.paceTimer = undefined;
        this.startDrain();
      }, wait);
    } else this.startDrain();
  }

  private startDrain(): void {
    void this.serial(() => this.drain()).catch(() => undefined);
  }

  private async drain(): Promise<void> {
    // Batches that arrive from here on schedule the next drain, which runs after this one.
    this.drainScheduled = false;
    const group = this.queued;
    this.queued = [];
    if (group.length === 0) return;
    this.lastWriteAt = performance.now();
    try {
      if (this.closed) throw new Error('WAL is closed');
      const notes: (Uint8Array | undefined)[] = [];
      for (const g of group) {
        const n = await g.note;
        notes.push(n === undefined ? undefined : utf8.encode(n));
      }
      if (this.segmentLength >= this.o.segmentBytes && this.atCommit && group[0]!.records.length > 0) await this.startSegment(group[0]!.firstSeq, false, recordLinks(group[0]!.records[0]!)?.prev);
      let total = 0;
      for (let i = 0; i < group.length; i++) {
        for (const r of group[i]!.records) total += frameSize(r.length);
        const n = notes[i];
        if (n) total += frameSize(n.length);
      }
      const buf = Buffer.allocUnsafe(total);
      let off = 0;
      for (let i = 0; i < group.length; i++) {
        for (const r of group[i]!.records) off = writeFrame(buf, off, FRAME_RECORD, r);
        const n = notes[i];
        if (n) off = writeFrame(buf, off, FRAME_CHECKPOINT, n);
      }
      await this.writeAll(buf, this.segmentLength);
      const t0 = performance.now();
      await this.fh!.datasync();
      this.o.fsyncSeconds?.observe((performance.now() - t0) / 1000);
      this.segmentLength += total;
      const mark = Buffer.allocUnsafe(frameSize(SYNC_PAYLOAD_BYTES));
      writeFrame(mark, 0, FRAME_SYNC, syncPayload(this.segmentLength));
      await this.writeAll(mark, this.segmentLength);
      this.segmentLength += mark.length;
      this.atCommit = notes.at(-1) !== undefined || (this.atCommit && group.every((g) => g.records.length === 0));
      for (const g of group) g.resolve();
    } catch (err) {
      for (const g of group) g.reject(err);
      throw err;
    }
  }

  /**
   * A checkpoint signed outside a batch (a retried signature, the recovered size at start, the
   * sealed checkpoint): written as a commit of its own.
   */
  noteCheckpoint(note: string): void {
    if (this.closed) return;
    this.appendBatch(-1, [], note).catch((err: unknown) => this.o.onError?.(err));
  }

  /** Resolves when everything handed over so far is written and synced. */
  flush(): Promise<void> {
    if (this.queued.length > 0) this.scheduleDrain(true);
    return this.serial(async () => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.queued.length > 0) this.scheduleDrain(true);
    await this.serial(async () => {
      this.closed = true;
      await this.fh?.close();
      this.fh = undefined;
    });
  }

  /** Abandon the file without writing (after a fault). */
  async abandon(): Promise<void> {
    this.closed = true;
    if (this.paceTimer !== undefined) {
      // The paced write would fail on the closed file: run it now, so its batches are rejected.
      clearTimeout(this.paceTimer);
      this.paceTimer = undefined;
      this.startDrain();
    }
    try {
      await this.fh?.close();
    } catch {
      /* the disk already failed us; nothing more to lose */
    }
    this.fh = undefined;
  }
}
