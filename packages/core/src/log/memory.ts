import { AuditError } from '../errors.js';
import { parseCanonical } from '../record/canonical.js';
import { openNote, type VerifierKey } from '../sign/note.js';
import { parseCheckpoint } from './checkpoint.js';
import { genesis, nextLink } from './chain.js';
import { leafHash } from '../prim/hash.js';
import { ByteRun } from '../prim/byte-run.js';
import { toHex } from '../prim/hex.js';
import { equalBytes, inclusionProof } from './merkle.js';
import { RetainedTree } from './tree.js';

/**
 * The Micronode log: records, tree and newest signed checkpoint in memory ("amnesia": gone with
 * the process), bounded by `maxBytes`, and verified on every read — a read recomputes the
 * canonical form, the chain links and the leaf hashes of what it returns, the tree root, and the
 * checkpoint signature, and returns nothing if any of them fails.
 */

/** Per-record bookkeeping besides its bytes: array slot, leaf hash and tree nodes (~2 × 32 B + object headers). */
export const RECORD_OVERHEAD_BYTES = 320;

export interface SignedCheckpoint {
  readonly note: string;
  readonly size: number;
  readonly root: Uint8Array;
  readonly time: number;
}

export interface VerifiedRecord {
  readonly seq: number;
  readonly bytes: Uint8Array;
  readonly record: Readonly<Record<string, unknown>>;
}

/** The stable reasons a verification names (docs/errors.md lists them; a test keeps the two in sync). */
export const VERIFY_FAILURE_REASONS = [
  'not_canonical',
  'bad_version',
  'bad_seq',
  'chain_broken',
  'leaf_mismatch',
  'root_mismatch',
  'signature_invalid',
  'checkpoint_mismatch',
  'size_mismatch',
  'origin_mismatch',
] as const;

export type VerifyFailureReason = (typeof VERIFY_FAILURE_REASONS)[number];

export class VerifyError extends AuditError {
  constructor(
    readonly seq: number | undefined,
    readonly reason: VerifyFailureReason,
    message: string,
  ) {
    super('AUDIT_VERIFY_FAILED', message, { seq, reason });
  }
}

/** Chunk size of the record run for a log bounded at maxBytes: a sixteenth of the bound, from 64 KiB to 1 MiB. */
function chunkBytesFor(maxBytes: number): number {
  return Math.min(2 ** 20, Math.max(2 ** 16, Math.floor(maxBytes / 16) || 2 ** 20));
}

export class MemoryLog {
  /** The retained records, in chunks (prim/byte-run.ts: no object per record for the GC to keep). */
  private readonly records: ByteRun;
  private first = 0;
  private held = 0;
  private readonly tree = new RetainedTree();
  private head: Uint8Array;
  private latest: SignedCheckpoint | undefined;

  constructor(
    readonly origin: string,
    private readonly maxBytes: number,
  ) {
    this.head = genesis(origin);
    this.records = new ByteRun(chunkBytesFor(maxBytes));
  }

  get size(): number {
    return this.tree.size;
  }

  get firstRetained(): number {
    return this.first;
  }

  get bytesHeld(): number {
    return this.held;
  }

  get chainHead(): Uint8Array {
    return this.head;
  }

  get checkpoint(): SignedCheckpoint | undefined {
    return this.latest;
  }

  append(bytes: Uint8Array, leaf: Uint8Array, hash: Uint8Array): void {
    this.records.push(bytes);
    this.appended(bytes.length, leaf, hash);
  }

  /**
   * Room for the next record built in place (the appender's hot path): the chunk to write into,
   * with at least `n` free bytes from `writeOffset`. appendWritten() then makes the bytes written
   * a record, so a record has no buffer of its own.
   */
  reserve(n: number): Uint8Array {
    return this.records.reserve(n);
  }

  get writeOffset(): number {
    return this.records.writeOffset;
  }

  /** The record written at [offset, offset + length) of the chunk reserve() returned (offset ≥ writeOffset). */
  appendWritten(offset: number, length: number, leaf: Uint8Array, hash: Uint8Array): void {
    this.records.commit(offset, length);
    this.appended(length, leaf, hash);
  }

  private appended(length: number, leaf: Uint8Array, hash: Uint8Array): void {
    this.tree.append(leaf);
    this.head = hash;
    this.held += length + RECORD_OVERHEAD_BYTES;
    if (this.held > this.maxBytes) this.evict();
  }

  /**
   * Continue the log at `size` from its frontier and chain head, holding none of its records
   * (bounded WAL recovery, format §9.5). Only for an empty log.
   */
  resumeAt(size: number, frontier: readonly Uint8Array[], head: Uint8Array): void {
    if (this.tree.size !== 0) throw new Error('resumeAt on a log that holds records');
    this.tree.resumeAt(size, frontier);
    this.first = size;
    this.head = head;
  }

  /** The tree's frontier at `size` (what a WAL segment header starting at `size` carries). */
  frontierAt(size: number): Uint8Array[] {
    return this.tree.frontierAt(size);
  }

  /** Root of the tree at an earlier size (any size ≥ the evicted prefix). */
  rootAt(size: number): Uint8Array {
    return this.tree.root(size);
  }

  root(): Uint8Array {
    return this.tree.root();
  }

  setCheckpoint(cp: SignedCheckpoint): void {
    this.latest = cp;
  }

  /** Evict the oldest records down to 3/4 of the bound, so eviction runs once per many appends. */
  private evict(): void {
    const target = Math.floor(this.maxBytes * 0.75);
    let drop = 0;
    let held = this.held;
    while (held > target && drop < this.records.length - 1) {
      held -= this.records.lengthOf(drop) + RECORD_OVERHEAD_BYTES;
      drop++;
    }
    this.records.dropFront(drop);
    this.first += drop;
    this.held = held;
    this.tree.evict(this.first);
  }

  /**
   * Raw retained bytes, unverified: for export to a verifier that checks them itself. Copies, like
   * read(): a caller editing what it was handed must not be able to change the log.
   */
  retained(): { first: number; records: readonly Uint8Array[] } {
    const records: Uint8Array[] = new Array(this.records.length);
    for (let i = 0; i < records.length; i++) records[i] = this.records.get(i).slice();
    return { first: this.first, records };
  }

  proof(seq: number, size: number): Uint8Array[] {
    return inclusionProof(this.tree, seq, size);
  }

  /**
   * Records [from, to] (inclusive, clamped to the newest checkpoint), verified. Throws
   * AUDIT_RANGE_UNAVAILABLE for records not held, VerifyError for anything that fails.
   */
  read(from: number, to: number, keys: readonly VerifierKey[]): VerifiedRecord[] {
    const cp = this.latest;
    if (cp === undefined) throw new AuditError('AUDIT_RANGE_UNAVAILABLE', 'no signed checkpoint yet; call flush() first');
    const last = Math.min(to, cp.size - 1);
    if (from < this.first) throw new AuditError('AUDIT_RANGE_UNAVAILABLE', `records before ${this.first} were evicted (memory bound)`, { first: this.first });
    try {
      openNote(cp.note, keys);
    } catch (err) {
      throw new VerifyError(undefined, 'signature_invalid', `checkpoint signature: ${(err as Error).message}`);
    }
    const parsed = parseCheckpoint(cp.note.slice(0, cp.note.lastIndexOf('\n\n') + 1));
    if (parsed.origin !== this.origin) throw new VerifyError(undefined, 'origin_mismatch', 'checkpoint names another log');
    if (parsed.size !== cp.size || !equalBytes(parsed.root, cp.root)) throw new VerifyError(undefined, 'checkpoint_mismatch', 'signed checkpoint text differs from the held checkpoint');
    const out: VerifiedRecord[] = [];
    let prevHash = from === 0 ? genesis(this.origin) : from > this.first ? nextLink(this.records.get(from - 1 - this.first)) : undefined;
    for (let seq = from; seq <= last; seq++) {
      const bytes = this.records.get(seq - this.first);
      let record: Record<string, unknown>;
      try {
        record = parseCanonical(bytes) as Record<string, unknown>;
      } catch {
        throw new VerifyError(seq, 'not_canonical', `record ${seq} is not canonical JSON`);
      }
      if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new VerifyError(seq, 'not_canonical', `record ${seq} is not a JSON object`);
      if (record['v'] !== 1) throw new VerifyError(seq, 'bad_version', `record ${seq} has format version ${String(record['v'])}`);
      if (record['seq'] !== seq) throw new VerifyError(seq, 'bad_seq', `record at ${seq} says seq ${String(record['seq'])}`);
      if (prevHash !== undefined && record['prev'] !== toHex(prevHash)) throw new VerifyError(seq, 'chain_broken', `record ${seq}: prev does not match the hash of record ${seq - 1}`);
      if (!equalBytes(leafHash(bytes), this.tree.leaf(seq))) throw new VerifyError(seq, 'leaf_mismatch', `record ${seq}: bytes do not match the tree leaf`);
      prevHash = nextLink(bytes);
      out.push({ seq, bytes: new Uint8Array(bytes), record });
    }
    if (!equalBytes(this.tree.root(cp.size), parsed.root)) throw new VerifyError(undefined, 'root_mismatch', `tree root of size ${cp.size} does not match the signed checkpoint`);
    return out;
  }
}
