import { recordBytes, type PreparedEvent } from '../record/record.js';
import { signNote, type NoteSigner } from '../sign/note.js';
import { formatCheckpoint } from './checkpoint.js';
import { leafHash, recordHash } from './hash.js';
import { toHex } from './hex.js';
import type { MemoryLog, SignedCheckpoint } from './memory.js';

/**
 * The appender: the only writer of a log. It drains the queue in batches; per record it builds
 * the canonical bytes (seq and prev are known only here), hashes them for the chain and the tree,
 * and appends; per batch it signs one checkpoint (docs/format.md §7). Batches run in
 * setImmediate callbacks, so a burst never holds the event loop longer than one batch.
 */

export interface AppendedBatch {
  readonly firstSeq: number;
  readonly records: readonly Uint8Array[];
}

export interface AppenderHooks {
  /** Called after each batch is in the log, before it is signed (a WAL would fsync here). */
  beforeSign?(batch: AppendedBatch): Promise<void> | void;
  onAppended(count: number, bytes: number): void;
  onCheckpoint(cp: SignedCheckpoint): void;
  onError(err: unknown): void;
}

export class Appender {
  private queue: PreparedEvent[] = [];
  private qHead = 0;
  private scheduled = false;
  private running = false;
  private prevHex: string;
  private signer: NoteSigner | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly log: MemoryLog,
    private batchMax: number,
    private readonly hooks: AppenderHooks,
    private readonly now: () => number = Date.now,
  ) {
    this.prevHex = toHex(log.chainHead);
  }

  get waiting(): number {
    return this.queue.length - this.qHead;
  }

  setBatchMax(n: number): void {
    this.batchMax = n;
  }

  /** Install (or replace) the checkpoint signer; records appended before it existed get signed by the next checkpoint. */
  setSigner(signer: NoteSigner): void {
    this.signer = signer;
    this.schedule();
  }

  push(p: PreparedEvent): void {
    this.queue.push(p);
    this.schedule();
  }

  /** Resolves when every record pushed so far is appended and under a signed checkpoint (if a signer is set). */
  idle(): Promise<void> {
    if (!this.running && !this.scheduled && this.waiting === 0 && this.signedUpToDate()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private signedUpToDate(): boolean {
    return this.signer === undefined || (this.log.checkpoint?.size ?? -1) === this.log.size;
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      const n = Math.min(this.batchMax, this.waiting);
      if (n > 0) {
        const firstSeq = this.log.size;
        const records: Uint8Array[] = new Array(n);
        let bytesTotal = 0;
        for (let i = 0; i < n; i++) {
          const p = this.queue[this.qHead + i]!;
          const bytes = recordBytes(p, firstSeq + i, this.prevHex);
          const h = recordHash(bytes);
          this.log.append(bytes, leafHash(bytes), h);
          this.prevHex = toHex(h);
          records[i] = bytes;
          bytesTotal += bytes.length;
        }
        this.qHead += n;
        if (this.qHead > 4096 && this.qHead * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.qHead);
          this.qHead = 0;
        }
        this.hooks.onAppended(n, bytesTotal);
        if (this.hooks.beforeSign) await this.hooks.beforeSign({ firstSeq, records });
      }
      if (this.signer !== undefined && (this.log.checkpoint?.size ?? -1) !== this.log.size) await this.sign(this.signer);
    } catch (err) {
      this.hooks.onError(err);
    } finally {
      this.running = false;
    }
    // Waiters wake even if signing failed (onError reported it); health() then says why.
    if (this.waiting > 0) this.schedule();
    else this.wakeIdle();
  }

  private async sign(signer: NoteSigner): Promise<void> {
    const size = this.log.size;
    const root = this.log.root();
    const time = this.now();
    const note = await signNote(formatCheckpoint({ origin: this.log.origin, size, root, time }), [signer]);
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
