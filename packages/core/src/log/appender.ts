import { leafInputBound, recordLeafInput, writeLeafInput, type PreparedEvent } from '../record/record.js';
import { signNote, type NoteSigner } from '../sign/note.js';
import { formatCheckpoint } from './checkpoint.js';
import { nextLink } from './chain.js';
import { leafHashOfInput } from '../prim/hash.js';
import { toHex } from '../prim/hex.js';
import type { MemoryLog, SignedCheckpoint } from './memory.js';

/**
 * The appender: the only writer of a log. It drains the queue in batches; per record it builds
 * the canonical bytes (seq and prev are known only here), hashes them for the chain and the tree,
 * and appends; per batch it signs one checkpoint (docs/format.md §7).
 *
 * Scheduling (format §7): each run, in a setImmediate callback, builds every full batch waiting —
 * and a partial one once its window is over — for up to SLICE_MS of the event loop, then yields
 * and continues in the next turn. So appending follows admission: the batch size bounds a
 * checkpoint, never the drain rate. What may wait for durability and signatures is bounded in
 * records (MAX_IN_FLIGHT_RECORDS), not in batches: a slow fsync makes the group commits larger
 * instead of stopping the appender, until that bound; then records wait in the queue, where
 * admission counts them.
 */

export interface AppendedBatch {
  readonly firstSeq: number;
  readonly records: readonly Uint8Array[];
  /**
   * With signBeforeDurable: the checkpoint note signed for the batch's end size (undefined when
   * there is no signer or signing failed), for the WAL to write in the same commit (format §9.1).
   */
  readonly checkpoint?: Promise<string | undefined>;
  /** The RFC 6962 leaf hash of each record, as the appender computed it for the tree (the export reuses them). */
  readonly leaves?: readonly Uint8Array[];
}

/** What became of a batch before signing: fsynced by the WAL, kept in memory only, or the WAL failed. */
export type BatchDurability = 'durable' | 'memory' | 'failed';

/** A caller waiting for its record to be durable (emitDurable / commitDurable). */
export interface DurableAck {
  readonly resolve: (r: { id: string; seq: number; durable: boolean }) => void;
  readonly reject: (err: unknown) => void;
}

export interface AppenderHooks {
  /** Called after each batch is in the log, before it is signed (the WAL fsyncs here). */
  beforeSign?(batch: AppendedBatch): Promise<BatchDurability> | BatchDurability;
  /** Called when a durable ack cannot be given (the WAL failed for its batch). */
  notDurable?(id: string): unknown;
  onAppended(count: number, bytes: number): void;
  /** A new checkpoint of the log; `written` when the WAL already wrote it in its batch's commit (format §9.1). */
  onCheckpoint(cp: SignedCheckpoint, written?: boolean): void;
  onError(err: unknown): void;
}

/**
 * How many records may be appended ahead of the oldest batch's fsync and signature (the WAL
 * coalesces the batches into group commits). ~10 MB of typical records: it absorbs a stall of the
 * disk of a second or more at a high request rate; beyond it, the queue fills and admission sheds.
 */
export const MAX_IN_FLIGHT_RECORDS = 16_384;
/** How long one run may hold the event loop building batches before it yields (ms). */
export const SLICE_MS = 4;

export class Appender {
  private queue: PreparedEvent[] = [];
  private qHead = 0;
  private scheduled = false;
  private running = false;
  /** The chain link the next record carries (format §3): the hash of the last record, or G(origin). */
  private prev: Uint8Array;
  private signers: readonly NoteSigner[] = [];
  /**
   * Extension lines every checkpoint of this log carries after `time` (a lane's `lane i/n`,
   * format §5). Empty for a log that is not a lane, so its checkpoints keep their v1 bytes.
   */
  checkpointExtensions: readonly string[] = [];
  private idleWaiters: (() => void)[] = [];
  /** Batches built whose completion (durability, acks, signature) has not finished. */
  private inFlight = 0;
  /** Records in those batches. */
  private inFlightRecords = 0;
  private tail: Promise<void> = Promise.resolve();
  private acks = new Map<PreparedEvent, DurableAck>();
  private held = false;
  private windowMs = 0;
  private firstWaitAt = 0;
  private windowTimer: NodeJS.Timeout | undefined;
  /** WAL protocol 2: each batch's checkpoint is signed before its write, and committed after its fsync. */
  private signBeforeDurable = false;

  constructor(
    private readonly log: MemoryLog,
    private batchMax: number,
    private readonly hooks: AppenderHooks,
    private readonly now: () => number = Date.now,
  ) {
    this.prev = log.chainHead;
  }

  get waiting(): number {
    return this.queue.length - this.qHead;
  }

  setBatchMax(n: number): void {
    this.batchMax = n;
  }

  /** Group-commit window: a batch smaller than batchMax waits up to `ms` for company (WAL mode). */
  setWindow(ms: number): void {
    this.windowMs = ms;
  }

  /**
   * Sign each batch's checkpoint before handing the batch to beforeSign (which writes it with the
   * records, format §9.1); it becomes the log's checkpoint, and durable acks resolve, only after
   * beforeSign reports the batch durable.
   */
  setSignBeforeDurable(on: boolean): void {
    this.signBeforeDurable = on;
  }

  /** Hold appending (records queue up) until release(): used while the WAL is being recovered. */
  hold(): void {
    this.held = true;
  }

  /** Resume from the log's current state (seq, prev) after recovery rebuilt it. */
  release(): void {
    this.held = false;
    this.prev = this.log.chainHead;
    this.schedule();
  }

  /** Install (or replace) the checkpoint signer; records appended before it existed get signed by the next checkpoint. */
  setSigner(signer: NoteSigner): void {
    this.setSigners([signer]);
  }

  /** Several signers sign each checkpoint (key rotation cross-signs with the old and the new key). */
  setSigners(signers: readonly NoteSigner[]): void {
    this.signers = [...signers];
    this.schedule();
  }

  /** Drop everything queued (engine closing while it could never start); returns how many. */
  discard(): number {
    const n = this.waiting;
    for (let i = this.qHead; i < this.queue.length; i++) this.acks.get(this.queue[i]!)?.reject(new Error('audit engine closed before it could start'));
    this.acks.clear();
    this.queue = [];
    this.qHead = 0;
    this.wakeIdle();
    return n;
  }

  push(p: PreparedEvent, ack?: DurableAck): void {
    if (this.waiting === 0) this.firstWaitAt = this.now();
    if (ack) this.acks.set(p, ack);
    this.queue.push(p);
    this.schedule();
  }

  /** Resolves when every record pushed so far is appended and under a signed checkpoint (if a signer is set). */
  idle(): Promise<void> {
    if (!this.running && !this.scheduled && this.waiting === 0 && this.inFlight === 0 && this.signedUpToDate()) return Promise.resolve();
    // Nothing queued but the newest records unsigned (the last signature failed): try again, or
    // this promise would wait for a run that nothing schedules.
    this.schedule();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private signedUpToDate(): boolean {
    return this.signers.length === 0 || (this.log.checkpoint?.size ?? -1) === this.log.size;
  }

  private schedule(): void {
    if (this.scheduled || this.running || this.held || this.inFlightRecords >= MAX_IN_FLIGHT_RECORDS) return;
    if (this.windowMs > 0 && this.waiting > 0 && this.waiting < this.batchMax) {
      const wait = this.firstWaitAt + this.windowMs - this.now();
      if (wait > 0) {
        if (this.windowTimer === undefined) {
          this.windowTimer = setTimeout(() => {
            this.windowTimer = undefined;
            this.firstWaitAt = -Infinity;
            this.schedule();
          }, wait);
        }
        return;
      }
    }
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  /**
   * Build one batch (synchronously: seq, prev, bytes, hashes, tree) and hand it to the sinks; its
   * completion — durability, acknowledgements, the signed checkpoint — runs in a promise chain, so
   * the next batch is built while this one's fsync is in flight (up to MAX_IN_FLIGHT_RECORDS records).
   * Order is kept: completions run in batch order, and a checkpoint is signed for a batch's end
   * size only after that batch (and so every earlier one) is durable.
   */
  private run(): void {
    this.running = true;
    const started = performance.now();
    try {
      let built = 0;
      // Every full batch waiting, and a partial one once its window is over (schedule() only runs
      // us for a partial batch then), within the slice and the in-flight bound.
      while (this.waiting > 0 && this.inFlightRecords < MAX_IN_FLIGHT_RECORDS && (this.waiting >= this.batchMax || built === 0)) {
        this.buildBatch(Math.min(this.batchMax, this.waiting));
        built++;
        if (performance.now() - started >= SLICE_MS) break;
      }
      // Leftovers (a partial batch) wait for company from now on, at most one window.
      if (built > 0 && this.waiting > 0 && this.waiting < this.batchMax) this.firstWaitAt = this.now();
      if (built === 0 && this.signers.length > 0 && this.inFlight === 0 && (this.log.checkpoint?.size ?? -1) !== this.log.size) {
        // Nothing new, but the newest records are unsigned (a signature failed): sign them now.
        this.chain('memory', undefined, { size: this.log.size, root: this.log.root() }, 0);
      }
    } catch (err) {
      this.hooks.onError(err);
    } finally {
      this.running = false;
    }
    if (this.waiting > 0 && this.inFlightRecords < MAX_IN_FLIGHT_RECORDS) this.schedule();
    else if (this.inFlight === 0 && this.waiting === 0) this.wakeIdle();
  }

  /** Build one batch of `n` waiting records (seq, prev, bytes, hashes, tree) and hand it to the sinks. */
  private buildBatch(n: number): void {
    const firstSeq = this.log.size;
    const records: Uint8Array[] = new Array(n);
    const leaves: Uint8Array[] = new Array(n);
    let bytesTotal = 0;
    let waiting: { ack: DurableAck; id: string; seq: number }[] | undefined;
    for (let i = 0; i < n; i++) {
      let p = this.queue[this.qHead + i]!;
      if (this.acks.size > 0) {
        const ack = this.acks.get(p);
        if (ack) {
          this.acks.delete(p);
          (waiting ??= []).push({ ack, id: p.id, seq: firstSeq + i });
        }
      }
      if (p.oversizeOf !== undefined) {
        const full = recordLeafInput(p.oversizeOf.full, firstSeq + i, this.prev).subarray(1);
        p = p.oversizeOf.reduce(`${full.length}:${toHex(nextLink(full))}`);
      }
      // Written straight into the log's record run: the record has no buffer of its own.
      const chunk = this.log.reserve(leafInputBound(p));
      const at = this.log.writeOffset;
      const end = writeLeafInput(p, firstSeq + i, this.prev, chunk, at);
      const bytes = chunk.subarray(at + 1, end);
      const h = nextLink(bytes);
      const leaf = leafHashOfInput(chunk.subarray(at, end));
      this.log.appendWritten(at + 1, end - at - 1, leaf, h);
      leaves[i] = leaf;
      this.prev = h;
      records[i] = bytes;
      bytesTotal += bytes.length;
    }
    this.qHead += n;
    if (this.qHead > 4096 && this.qHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qHead);
      this.qHead = 0;
    }
    this.hooks.onAppended(n, bytesTotal);
    // The root now, while every leaf of this size is surely held (later batches may evict).
    const end = { size: this.log.size, root: this.log.root() };
    const presigned = this.signBeforeDurable && this.signers.length > 0 ? this.presign(end) : undefined;
    const checkpoint = presigned?.then((cp) => cp?.note);
    const durability = this.hooks.beforeSign ? this.hooks.beforeSign(checkpoint ? { firstSeq, records, leaves, checkpoint } : { firstSeq, records, leaves }) : ('memory' as const);
    this.chain(durability, waiting, end, n, presigned);
  }

  private chain(
    durability: Promise<BatchDurability> | BatchDurability,
    waiting: { ack: DurableAck; id: string; seq: number }[] | undefined,
    end: { size: number; root: Uint8Array },
    records: number,
    presigned?: Promise<SignedCheckpoint | undefined>,
  ): void {
    this.inFlight++;
    this.inFlightRecords += records;
    this.tail = this.tail.then(() => (presigned ? this.completePresigned(durability, waiting, presigned, records) : this.complete(durability, waiting, end, records)));
  }

  /** Sign the checkpoint for `end` now, for the WAL to write with its batch; a failure is reported and yields undefined. */
  private presign(end: { size: number; root: Uint8Array }): Promise<SignedCheckpoint | undefined> {
    const time = this.now();
    return signNote(formatCheckpoint({ origin: this.log.origin, size: end.size, root: end.root, time, extensions: this.checkpointExtensions }), this.signers).then(
      (note) => ({ note, size: end.size, root: end.root, time }),
      (err: unknown) => {
        this.hooks.onError(err);
        return undefined;
      },
    );
  }

  /**
   * Completion under WAL protocol 2: the checkpoint was signed before the write and went out with
   * the records, so once the batch is durable every record in it is covered by an fsynced
   * signature — only then is an ack given and the checkpoint handed on. Without a signature
   * (signing failed) the records are durable but uncommitted: acks are refused (format §9.1).
   */
  private async completePresigned(durabilityP: Promise<BatchDurability> | BatchDurability, waiting: { ack: DurableAck; id: string; seq: number }[] | undefined, presigned: Promise<SignedCheckpoint | undefined>, records: number): Promise<void> {
    let unsettled = waiting;
    try {
      const durability = await durabilityP;
      const cp = await presigned;
      if (waiting !== undefined) {
        if (durability === 'durable' && cp !== undefined) for (const w of waiting) w.ack.resolve({ id: w.id, seq: w.seq, durable: true });
        else if (durability === 'memory' && cp !== undefined) for (const w of waiting) w.ack.resolve({ id: w.id, seq: w.seq, durable: false });
        else for (const w of waiting) w.ack.reject(this.hooks.notDurable?.(w.id) ?? new Error('not durable'));
        unsettled = undefined;
      }
      if (cp !== undefined && (this.log.checkpoint?.size ?? -1) < cp.size) {
        this.log.setCheckpoint(cp);
        this.hooks.onCheckpoint(cp, durability === 'durable');
      }
    } catch (err) {
      this.failed(unsettled, err);
    } finally {
      this.completed(records);
    }
  }

  private failed(unsettled: { ack: DurableAck }[] | undefined, err: unknown): void {
    for (const w of unsettled ?? []) w.ack.reject(err);
    this.hooks.onError(err);
  }

  /** A batch's completion ended; waiters wake even if signing failed (onError reported it; health() then says why). */
  private completed(records: number): void {
    this.inFlight--;
    this.inFlightRecords -= records;
    if (this.waiting > 0) this.schedule();
    else if (this.inFlight === 0 && !this.running && !this.scheduled) this.wakeIdle();
  }

  private async complete(durabilityP: Promise<BatchDurability> | BatchDurability, waiting: { ack: DurableAck; id: string; seq: number }[] | undefined, end: { size: number; root: Uint8Array }, records: number): Promise<void> {
    let unsettled = waiting;
    try {
      const durability = await durabilityP;
      let settle: (() => void) | undefined;
      if (waiting !== undefined) {
        const list = waiting;
        if (durability === 'durable') for (const w of list) w.ack.resolve({ id: w.id, seq: w.seq, durable: true });
        else if (durability === 'failed') for (const w of list) w.ack.reject(this.hooks.notDurable?.(w.id) ?? new Error('not durable'));
        // In memory only: acknowledge once the batch is under a signed checkpoint.
        else settle = () => list.forEach((w) => w.ack.resolve({ id: w.id, seq: w.seq, durable: false }));
        if (durability !== 'memory') unsettled = undefined;
      }
      if (this.signers.length > 0 && (this.log.checkpoint?.size ?? -1) < end.size) await this.sign(this.signers, end);
      settle?.();
      unsettled = undefined;
    } catch (err) {
      this.failed(unsettled, err);
    } finally {
      this.completed(records);
    }
  }

  /**
   * After idle(): sign one more checkpoint of the current size carrying extension lines (the
   * sealed checkpoint of close(), docs/format.md §14). It becomes the log's checkpoint but is not
   * handed to onCheckpoint: the caller decides where it goes and in which order.
   */
  async signFinal(extensions: readonly string[]): Promise<SignedCheckpoint | undefined> {
    await this.idle();
    if (this.signers.length === 0 || this.waiting > 0) return undefined;
    const size = this.log.size;
    const root = this.log.root();
    const time = this.now();
    const note = await signNote(formatCheckpoint({ origin: this.log.origin, size, root, time, extensions: [...this.checkpointExtensions, ...extensions] }), this.signers);
    const cp: SignedCheckpoint = { note, size, root, time };
    this.log.setCheckpoint(cp);
    return cp;
  }

  private async sign(signers: readonly NoteSigner[], end: { size: number; root: Uint8Array }): Promise<void> {
    const { size, root } = end;
    const time = this.now();
    const note = await signNote(formatCheckpoint({ origin: this.log.origin, size, root, time, extensions: this.checkpointExtensions }), signers);
    const cp: SignedCheckpoint = { note, size, root, time };
    this.log.setCheckpoint(cp);
    this.hooks.onCheckpoint(cp);
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
