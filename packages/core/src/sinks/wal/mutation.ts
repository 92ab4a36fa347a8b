import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAuditError } from '../../errors.js';
import type { VerifierKey } from '../../sign/note.js';
import { nodeFileOps } from '../fs.js';
import { FRAME_SYNC, MAGIC, frameCrc, readFrame } from './frame.js';
import { recoverWal } from './recover.js';

/**
 * The WAL mutation matrix (issue "Hostile input and damaged disks"; docs/format.md §9.2): every
 * byte of the last frames of a real segment flipped (with and without the CRC recomputed, as
 * anyone can), the file cut at every one of those offsets, every one of those frames duplicated,
 * deleted and swapped with its neighbour — and each case must end in exactly one of:
 *
 *  - `recovered`: every acknowledged record back, byte for byte;
 *  - `refused`: AUDIT_WAL_CORRUPT / AUDIT_ROLLBACK / AUDIT_KEY_UNAVAILABLE, the file unchanged;
 *  - `torn`: records dropped, but only records that were never acknowledged (the last write of a
 *    segment whose sync mark is missing).
 *
 * Anything else — an acknowledged record lost, a recovered record whose bytes differ from what
 * was written (the engine would sign it), another exception — is a `violation`. Used by the test
 * next to it (a small, bounded run in CI) and by `pnpm drill:wal-mutation` (every byte).
 */

export type MutationOutcome = 'recovered' | 'refused' | 'torn' | 'violation';

export interface MutationCase {
  readonly family: string;
  readonly frame: number;
  readonly frameType: string;
  readonly offset: number;
}

export interface MutationBase {
  /** The segment's bytes, protocol 2, as the engine left them. */
  readonly segment: Uint8Array;
  readonly segmentName: string;
  readonly origin: string;
  readonly keys: readonly VerifierKey[];
  /** Every record's bytes in seq order. */
  readonly records: readonly Uint8Array[];
  /** How many of them were acknowledged as durable (the rest were in a write with no sync mark after it). */
  readonly acked: number;
  /** The export's published checkpoint (size and root) the engine cross-checks, or undefined to model no export. */
  readonly published?: { readonly size: number; readonly root: Uint8Array } | undefined;
}

export interface MutationReport {
  readonly counts: Record<MutationOutcome, number>;
  readonly byFamily: Record<string, Record<MutationOutcome, number>>;
  readonly refusedReasons: Record<string, number>;
  readonly violations: { readonly case: MutationCase; readonly why: string }[];
}

const TYPE_NAMES: Record<number, string> = { 1: 'header', 2: 'record', 3: 'checkpoint', 4: 'sync' };

export interface FrameSpan {
  readonly offset: number;
  readonly end: number;
  readonly type: number;
}

export function frameSpans(buf: Uint8Array): FrameSpan[] {
  const out: FrameSpan[] = [];
  let off = MAGIC.length;
  while (off < buf.length) {
    const f = readFrame(buf, off);
    if (!f.ok) break;
    out.push({ offset: off, end: f.next, type: f.type });
    off = f.next;
  }
  return out;
}

/** The segment with its last sync mark removed: the last write's fsync is then unproven, and its records unacknowledged. */
export function withoutLastSyncMark(buf: Uint8Array): Uint8Array {
  const spans = frameSpans(buf);
  const last = spans.at(-1);
  if (last === undefined || last.type !== FRAME_SYNC) throw new Error('segment does not end with a sync mark');
  return buf.subarray(0, last.offset);
}

function repairCrc(buf: Uint8Array, span: FrameSpan): void {
  const len = span.end - span.offset - 9;
  const crc = frameCrc(buf[span.offset + 4]!, buf.subarray(span.offset + 5, span.offset + 5 + len));
  new DataView(buf.buffer, buf.byteOffset, buf.byteLength).setUint32(span.offset + 5 + len, crc >>> 0);
}

function* cases(buf: Uint8Array, lastFrames: number): Generator<{ c: MutationCase; bytes: Uint8Array }> {
  const spans = frameSpans(buf);
  const first = Math.max(0, spans.length - lastFrames);
  for (let fi = first; fi < spans.length; fi++) {
    const s = spans[fi]!;
    const frameType = TYPE_NAMES[s.type] ?? String(s.type);
    for (let off = s.offset; off < s.end; off++) {
      const flip = Uint8Array.from(buf);
      flip[off]! ^= 0x01;
      yield { c: { family: 'flip', frame: fi, frameType, offset: off }, bytes: flip };
      // The CRC covers type and payload only: for a flip in the length or the CRC field itself,
      // "repairing" it gives the plain flip or the original bytes again.
      if (off >= s.offset + 4 && off < s.end - 4) {
        const repaired = Uint8Array.from(flip);
        repairCrc(repaired, s);
        yield { c: { family: 'flip+crc', frame: fi, frameType, offset: off }, bytes: repaired };
      }
      yield { c: { family: 'truncate', frame: fi, frameType, offset: off }, bytes: buf.subarray(0, off) };
    }
    const frame = buf.subarray(s.offset, s.end);
    yield { c: { family: 'duplicate', frame: fi, frameType, offset: s.offset }, bytes: concat(buf.subarray(0, s.end), frame, buf.subarray(s.end)) };
    yield { c: { family: 'delete', frame: fi, frameType, offset: s.offset }, bytes: concat(buf.subarray(0, s.offset), buf.subarray(s.end)) };
    const next = spans[fi + 1];
    if (next !== undefined) {
      yield { c: { family: 'swap', frame: fi, frameType: `${frameType}↔${TYPE_NAMES[next.type] ?? next.type}`, offset: s.offset }, bytes: concat(buf.subarray(0, s.offset), buf.subarray(next.offset, next.end), frame, buf.subarray(next.end)) };
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Run one mutated segment through real recovery on real files; classify the result. */
async function classify(base: MutationBase, bytes: Uint8Array, dir: string): Promise<{ outcome: MutationOutcome; why: string }> {
  const path = join(dir, base.segmentName);
  writeFileSync(path, bytes);
  const got: Uint8Array[] = [];
  try {
    await recoverWal({
      dir,
      ops: nodeFileOps,
      origin: base.origin,
      keys: base.keys,
      published: base.published,
      onRecord: (b) => got.push(Uint8Array.from(b)),
      rootAt: () => {
        throw new Error('protocol 2 never asks for an older root');
      },
    });
  } catch (err) {
    if (isAuditError(err, 'AUDIT_WAL_CORRUPT') || isAuditError(err, 'AUDIT_ROLLBACK') || isAuditError(err, 'AUDIT_KEY_UNAVAILABLE')) {
      if (sha(readFileSync(path)) !== sha(bytes)) return { outcome: 'violation', why: `refused (${err.code}) but changed the file` };
      const reason = (err.details['reason'] as string | undefined) ?? err.code;
      return { outcome: 'refused', why: reason };
    }
    return { outcome: 'violation', why: `unexpected error: ${(err as Error).message}` };
  }
  for (let i = 0; i < got.length; i++) {
    if (i >= base.records.length || !equal(got[i]!, base.records[i]!)) return { outcome: 'violation', why: `recovered record ${i} differs from what was written (it would be signed)` };
  }
  if (got.length === base.records.length) return { outcome: 'recovered', why: '' };
  if (got.length >= base.acked) return { outcome: 'torn', why: '' };
  return { outcome: 'violation', why: `dropped acknowledged records ${got.length}..${base.acked - 1}` };
}

export async function runMutationMatrix(base: MutationBase, opts: { lastFrames: number; scratch: string; onCase?: (c: MutationCase, outcome: MutationOutcome) => void }): Promise<MutationReport> {
  const zero = (): Record<MutationOutcome, number> => ({ recovered: 0, refused: 0, torn: 0, violation: 0 });
  const counts = zero();
  const byFamily: Record<string, Record<MutationOutcome, number>> = {};
  const refusedReasons: Record<string, number> = {};
  const violations: { case: MutationCase; why: string }[] = [];
  const dir = join(opts.scratch, 'case');
  mkdirSync(dir, { recursive: true });
  for (const { c, bytes } of cases(base.segment, opts.lastFrames)) {
    const { outcome, why } = await classify(base, bytes, dir);
    counts[outcome]++;
    (byFamily[c.family] ??= zero())[outcome]++;
    if (outcome === 'refused') refusedReasons[why] = (refusedReasons[why] ?? 0) + 1;
    if (outcome === 'violation' && violations.length < 50) violations.push({ case: c, why });
    opts.onCase?.(c, outcome);
  }
  rmSync(dir, { recursive: true, force: true });
  return { counts, byFamily, refusedReasons, violations };
}

