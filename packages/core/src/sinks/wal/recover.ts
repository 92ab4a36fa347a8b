import { join } from 'node:path';
import { AuditError } from '../../errors.js';
import { parseCheckpoint } from '../../log/checkpoint.js';
import { genesisLink, leafHashOfInput, recordHash } from '../../log/hash.js';
import { toHex } from '../../log/hex.js';
import { equalBytes } from '../../log/merkle.js';
import { openNote, parseNote, type VerifierKey } from '../../sign/note.js';
import type { FileOps } from '../fs.js';
import { FRAME_CHECKPOINT, FRAME_HEADER, FRAME_OVERHEAD, FRAME_RECORD, MAGIC, hasMagic, readFrame } from './frame.js';
import { listSegments, parseHeader } from './segment.js';

/**
 * WAL recovery (docs/format.md §9): replay every good frame, truncate a torn unsigned tail,
 * refuse when the damage is in the signed, synced part. The caller's `onRecord` rebuilds the log
 * (tree and chain) as records arrive; `rootAt` lets checkpoint frames be checked against it.
 */

export interface RecoverOptions {
  readonly dir: string;
  readonly ops: FileOps;
  /** Expected origin; undefined adopts the WAL's. */
  readonly origin?: string | undefined;
  /** Keys to check checkpoint frames with (a frame signed only by unknown keys is accepted structurally). */
  readonly keys: readonly VerifierKey[];
  onRecord(bytes: Uint8Array, hash: Uint8Array, leaf: Uint8Array): void;
  /** Root of the rebuilt tree at a size ≤ its current size. */
  rootAt(size: number): Uint8Array;
}

export interface RecoveryResult {
  readonly origin: string | undefined;
  readonly size: number;
  readonly chainHead: Uint8Array | undefined;
  readonly checkpoint: { readonly note: string; readonly size: number; readonly root: Uint8Array; readonly time: number | undefined } | undefined;
  readonly truncated: { readonly segment: string; readonly offset: number; readonly bytes: number } | undefined;
  /** Where the writer continues: the last segment and its valid length. */
  readonly tail: { readonly name: string; readonly firstSeq: number; readonly length: number } | undefined;
  readonly segments: number;
}

function corrupt(message: string, details: Record<string, unknown>): AuditError {
  return new AuditError('AUDIT_WAL_CORRUPT', `write-ahead log damaged in its signed part: ${message}; refusing to start (see docs/runbook.md "WAL corrupt")`, details);
}

const PREV = Buffer.from('"prev":"');
const SEQ = Buffer.from('"seq":');

/**
 * seq and prev of a record written by our appender, without a full JSON parse: in JCS order every
 * member after the top-level `prev` (request_id, seq, span_id, target, time, trace_id, v) is a
 * string, number or the flat target object, so the *last* `"prev":"` and `"seq":` are the
 * top-level ones. Recovery trusts only what it re-derives (chain, tree, signatures); the full
 * canonical-form check is the verifier's job (`ronctl audit verify --wal-dir`).
 */
export function recordLinks(bytes: Uint8Array): { seq: number; prev: string } | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p = b.lastIndexOf(PREV);
  const s = b.lastIndexOf(SEQ);
  if (p < 0 || s < 0 || s < p) return undefined;
  const prev = b.toString('latin1', p + PREV.length, p + PREV.length + 64);
  let end = s + SEQ.length;
  while (end < b.length && b[end]! >= 0x30 && b[end]! <= 0x39) end++;
  const digits = b.toString('latin1', s + SEQ.length, end);
  if (digits.length === 0 || digits.length > 16) return undefined;
  return { seq: Number(digits), prev };
}

function isSignedCheckpointFrame(buf: Uint8Array, off: number, origin: string | undefined): boolean {
  const f = readFrame(buf, off);
  if (!f.ok || f.type !== FRAME_CHECKPOINT) return false;
  try {
    const note = parseNote(f.payload);
    const cp = parseCheckpoint(note.text);
    return origin === undefined || cp.origin === origin;
  } catch {
    return false;
  }
}

export async function recoverWal(o: RecoverOptions): Promise<RecoveryResult> {
  let names: string[];
  try {
    names = await o.ops.readdir(o.dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
    else throw err;
  }
  const segments = listSegments(names);
  let origin = o.origin;
  let size = 0;
  let prevHex: string | undefined;
  let head: Uint8Array | undefined;
  let checkpoint: RecoveryResult['checkpoint'];
  let truncated: RecoveryResult['truncated'];
  let tail: RecoveryResult['tail'];
  for (let si = 0; si < segments.length; si++) {
    const seg = segments[si]!;
    const isLast = si === segments.length - 1;
    const path = join(o.dir, seg.name);
    const buf = await o.ops.readFile(path);
    if (seg.firstSeq !== size) throw corrupt(`segment ${seg.name} starts at seq ${seg.firstSeq} but the log before it has ${size} records`, { segment: seg.name, seq: size });
    let off = MAGIC.length;
    let bad: { offset: number; why: string } | undefined;
    if (!hasMagic(buf)) bad = { offset: 0, why: 'missing segment magic' };
    else {
      const h = readFrame(buf, off);
      const header = h.ok && h.type === FRAME_HEADER ? parseHeader(h.payload) : undefined;
      if (!h.ok || header === undefined) bad = { offset: off, why: 'missing segment header' };
      else {
        if (header.first_seq !== seg.firstSeq) throw corrupt(`segment ${seg.name} header says first seq ${header.first_seq}`, { segment: seg.name });
        if (origin === undefined) {
          origin = header.origin;
          prevHex = toHex(genesisLink(origin));
        } else if (header.origin !== origin) {
          throw new AuditError('AUDIT_WAL_CORRUPT', `write-ahead log in ${o.dir} belongs to log "${header.origin}", not "${origin}" (AUDIT_ORIGIN); point AUDIT_WAL_DIR elsewhere or unset AUDIT_ORIGIN`, { segment: seg.name });
        }
        prevHex ??= toHex(genesisLink(origin));
        off = h.next;
      }
    }
    while (bad === undefined && off < buf.length) {
      const f = readFrame(buf, off);
      if (!f.ok) {
        bad = { offset: off, why: f.why };
        break;
      }
      if (f.type === FRAME_RECORD) {
        const links = recordLinks(f.payload);
        if (links === undefined || links.seq !== size || links.prev !== prevHex) {
          bad = { offset: off, why: links === undefined ? 'record without seq/prev' : links.seq !== size ? `record says seq ${links.seq}, expected ${size}` : `record ${size} does not link to record ${size - 1}` };
          break;
        }
        const input = Buffer.allocUnsafe(f.payload.length + 1);
        input[0] = 0;
        input.set(f.payload, 1);
        const bytes = input.subarray(1);
        const hash = recordHash(bytes);
        o.onRecord(bytes, hash, leafHashOfInput(input));
        head = hash;
        prevHex = toHex(hash);
        size++;
      } else if (f.type === FRAME_CHECKPOINT) {
        let ok = false;
        try {
          const noteText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(f.payload);
          const parsed = parseNote(noteText);
          const cp = parseCheckpoint(parsed.text);
          const known = parsed.signatures.some((s) => o.keys.some((k) => k.name === s.name && k.keyId === s.keyId));
          if (known) openNote(noteText, o.keys);
          // A checkpoint frame rides in a later write than its batch (the appender builds the next
          // batch during an fsync), so it may follow more records than it covers — never fewer.
          let rootOk: boolean;
          try {
            rootOk = equalBytes(cp.root, o.rootAt(cp.size));
          } catch {
            // That size fell out of the memory bound during replay: the root cannot be recomputed
            // here; the export verifier checks every root against the full log.
            rootOk = true;
          }
          ok = cp.origin === origin && cp.size <= size && cp.size >= (checkpoint?.size ?? 0) && rootOk;
          if (ok) checkpoint = { note: noteText, size: cp.size, root: cp.root, time: cp.time };
        } catch {
          ok = false;
        }
        if (!ok) {
          bad = { offset: off, why: 'checkpoint frame does not match the log' };
          break;
        }
      } else {
        bad = { offset: off, why: 'unexpected header frame' };
        break;
      }
      off = f.next;
    }
    if (bad !== undefined) {
      if (!isLast) throw corrupt(`${bad.why} at ${seg.name}:${bad.offset} (seq ${size}), and later segments exist`, { segment: seg.name, offset: bad.offset, seq: size });
      for (let scan = bad.offset + 1; scan + FRAME_OVERHEAD <= buf.length; scan++) {
        if (buf[scan + 4] === FRAME_CHECKPOINT && isSignedCheckpointFrame(buf, scan, origin)) {
          throw corrupt(`${bad.why} at ${seg.name}:${bad.offset} (seq ${size}), before a signed checkpoint at offset ${scan}`, { segment: seg.name, offset: bad.offset, seq: size });
        }
      }
      if (bad.offset < MAGIC.length + FRAME_OVERHEAD && size === seg.firstSeq) {
        // The segment never got its header durable: it holds nothing; drop it whole.
        truncated = { segment: seg.name, offset: 0, bytes: buf.length };
        await o.ops.unlink(path);
        await o.ops.syncDir(o.dir);
        continue;
      }
      const h = await o.ops.open(path, 'r+');
      try {
        await h.truncate(bad.offset);
        await h.sync();
      } finally {
        await h.close();
      }
      truncated = { segment: seg.name, offset: bad.offset, bytes: buf.length - bad.offset };
      tail = { name: seg.name, firstSeq: seg.firstSeq, length: bad.offset };
    } else {
      tail = { name: seg.name, firstSeq: seg.firstSeq, length: buf.length };
    }
  }
  return { origin, size, chainHead: head, checkpoint, truncated, tail, segments: segments.length };
}
