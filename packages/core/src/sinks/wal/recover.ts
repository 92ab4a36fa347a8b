import { join } from 'node:path';
import { AuditError } from '../../errors.js';
import { parseCheckpoint } from '../../log/checkpoint.js';
import { genesis, nextLink } from '../../log/chain.js';
import { leafHashOfInput } from '../../prim/hash.js';
import { fromHex, toHex } from '../../prim/hex.js';
import { CompactRange, equalBytes } from '../../log/merkle.js';
import { keyIdHex, openNote, parseNote, type VerifierKey } from '../../sign/note.js';
import type { FileOps } from '../fs.js';
import { FRAME_CHECKPOINT, FRAME_HEADER, FRAME_OVERHEAD, FRAME_RECORD, FRAME_SYNC, MAGIC, crcIntact, hasMagic, isSyncPayloadFor, readFrame } from './frame.js';
import { listSegments, parseHeader, type WalProtocol } from './segment.js';
import type { WalTail } from './writer.js';
import { recordLinks } from './links.js';

/**
 * WAL recovery (docs/format.md §9.2, §9.3): replay every commit, drop only bytes that were never
 * acknowledged (a torn last write), refuse everything else. The caller's `onRecord` rebuilds the
 * log (tree and chain) as records are committed; `rootAt` serves protocol 1 checkpoint frames,
 * which may cover fewer records than precede them.
 */

export interface RecoverOptions {
  readonly dir: string;
  readonly ops: FileOps;
  /** Expected origin; undefined adopts the WAL's. */
  readonly origin?: string | undefined;
  /** The log's verifier keys: a checkpoint frame commits only when one of them verifies it. */
  readonly keys: readonly VerifierKey[];
  /** The export's published checkpoint of this origin (§9.4): the rebuilt tree must have its root at its size. */
  readonly published?: { readonly size: number; readonly root: Uint8Array } | undefined;
  /**
   * Start at the newest segment whose header carries the log's state (format §9.5) instead of
   * replaying from seq 0; earlier segments get a frame scan only. Default true.
   */
  readonly bounded?: boolean;
  /** How many bytes of the newest segments a bounded start replays at most (at least one segment). Default REPLAY_BUDGET_BYTES. */
  readonly replayBudgetBytes?: number;
  /** Called once, before any onRecord, when recovery starts at a segment's state: the log continues at `size`. */
  onResume?(size: number, frontier: readonly Uint8Array[], head: Uint8Array): void;
  onRecord(bytes: Uint8Array, hash: Uint8Array, leaf: Uint8Array): void;
  /** Root of the rebuilt tree at a size ≤ its current size. */
  rootAt(size: number): Uint8Array;
}

/** Bytes of the newest segments a bounded recovery replays (format §9.5): ~50k typical records. */
export const REPLAY_BUDGET_BYTES = 16 * 1024 * 1024;

export interface RecoveryResult {
  readonly origin: string | undefined;
  readonly size: number;
  readonly chainHead: Uint8Array | undefined;
  readonly checkpoint: { readonly note: string; readonly size: number; readonly root: Uint8Array; readonly time: number | undefined } | undefined;
  /** A torn last write that was cut off: where, how many bytes, and how many never-acknowledged records. */
  readonly truncated: { readonly segment: string; readonly offset: number; readonly bytes: number; readonly records: number } | undefined;
  /** Where the writer continues: the last segment, its valid length and protocol. */
  readonly tail: WalTail | undefined;
  readonly segments: number;
}

/** Why recovery refused, as `details.reason` of AUDIT_WAL_CORRUPT (stable strings, docs/errors.md). */
export type WalCorruptReason =
  | 'header'
  | 'segment_gap'
  | 'origin'
  | 'record_link'
  | 'checkpoint'
  | 'sync_mark'
  | 'frame_damaged'
  | 'uncommitted_segment_end'
  | 'export_mismatch';

function corrupt(reason: WalCorruptReason, message: string, details: { segment: string; offset?: number; seq: number }): AuditError {
  const where = details.offset === undefined ? details.segment : `${details.segment}:${details.offset}`;
  return new AuditError('AUDIT_WAL_CORRUPT', `write-ahead log damaged: ${message} at ${where} (seq ${details.seq}); refusing to start, nothing was changed (see docs/runbook.md "WAL corrupt")`, { ...details, reason });
}

/** Whether any complete, CRC-valid frame of `type` (satisfying `accept`) starts after `from`. */
function scanFor(buf: Uint8Array, from: number, type: number, accept: (payload: Uint8Array, offset: number) => boolean): number | undefined {
  for (let scan = from; scan + FRAME_OVERHEAD <= buf.length; scan++) {
    if (buf[scan + 4] !== type) continue;
    const f = readFrame(buf, scan);
    if (f.ok && f.type === type && accept(f.payload, scan)) return scan;
  }
  return undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

type CheckpointCheck =
  | { readonly ok: true; readonly verified: boolean; readonly note: string; readonly size: number; readonly root: Uint8Array; readonly time: number | undefined; readonly keyIds: string[] }
  | { readonly ok: false; readonly why: string };

/** Parse and check a checkpoint frame's note: origin, signature by a known key (if it names one). */
function checkNote(payload: Uint8Array, origin: string | undefined, keys: readonly VerifierKey[]): CheckpointCheck {
  let note: string;
  try {
    note = strictUtf8.decode(payload);
  } catch {
    return { ok: false, why: 'checkpoint frame is not UTF-8' };
  }
  try {
    const parsed = parseNote(note);
    const cp = parseCheckpoint(parsed.text);
    if (cp.origin !== origin) return { ok: false, why: `checkpoint frame of origin "${cp.origin}"` };
    const known = parsed.signatures.some((s) => keys.some((k) => k.name === s.name && k.keyId === s.keyId));
    // openNote throws unless a known key's signature verifies: a forged or altered note fails here.
    if (known) openNote(note, keys);
    return { ok: true, verified: known, note, size: cp.size, root: cp.root, time: cp.time, keyIds: parsed.signatures.map((s) => `${s.name}+${keyIdHex(s.keyId)}`) };
  } catch (err) {
    return { ok: false, why: `checkpoint frame does not verify (${(err as Error).message})` };
  }
}

interface Pending {
  readonly bytes: Uint8Array;
  readonly hash: Uint8Array;
  readonly leaf: Uint8Array;
}

/** A record frame's bytes (copied behind the 0x00 leaf prefix), its chain hash and its leaf hash. */
function hashedRecord(payload: Uint8Array): Pending {
  const input = Buffer.allocUnsafe(payload.length + 1);
  input[0] = 0;
  input.set(payload, 1);
  const bytes = input.subarray(1);
  return { bytes, hash: nextLink(bytes), leaf: leafHashOfInput(input) };
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
  /** Committed records (handed to onRecord). */
  let size = 0;
  let prevHex: string | undefined;
  let head: Uint8Array | undefined;
  let range = new CompactRange();
  let checkpoint: RecoveryResult['checkpoint'];
  let truncated: RecoveryResult['truncated'];
  let tail: RecoveryResult['tail'];
  /** The newest commit point whose checkpoint no key of ours could verify (§9.2: it proves nothing). */
  let unverified: { segment: string; offset: number; keyIds: string[] } | undefined;
  /** What recovery will change on disk once nothing refuses: a torn tail cut, or an empty new segment removed. */
  let cut: { path: string; offset: number } | undefined;
  /** Where a bounded (or pruned) start resumed from a header's state, which a checkpoint must then prove. */
  let resumedAt: number | undefined;
  let remove: string | undefined;

  const commit = (r: Pending, segment: string): void => {
    o.onRecord(r.bytes, r.hash, r.leaf);
    range.append(r.leaf);
    head = r.hash;
    size++;
    const pub = o.published;
    if (pub !== undefined && size === pub.size && !equalBytes(range.root(), pub.root)) {
      throw corrupt('export_mismatch', `the WAL and the export disagree about the records both hold: the export's checkpoint of size ${pub.size} has another root than the WAL's records`, { segment, seq: pub.size - 1 });
    }
  };

  const cached = new Map<number, Uint8Array>();
  const readSegment = async (i: number): Promise<Uint8Array> => cached.get(i) ?? o.ops.readFile(join(o.dir, segments[i]!.name));
  // Bounded start (§9.5): the newest segment whose header carries the state and that holds a
  // checkpoint frame — that frame's root covers the state, and so everything before it.
  // Segments newer than the start are replayed whole while they fit in REPLAY_BUDGET_BYTES, so a
  // restart keeps in memory what a running engine would hold, and no more.
  let start = 0;
  if (o.bounded !== false) {
    const budget = o.replayBudgetBytes ?? REPLAY_BUDGET_BYTES;
    let replayed = 0;
    let candidate = 0;
    for (let i = segments.length - 1; i > 0 && start === 0; i--) {
      const buf = await readSegment(i);
      cached.set(i, buf);
      replayed += buf.length;
      const h = hasMagic(buf) ? readFrame(buf, MAGIC.length) : undefined;
      const header = h?.ok && h.type === FRAME_HEADER ? parseHeader(h.payload) : undefined;
      if (h?.ok && header?.state !== undefined && header.first_seq === segments[i]!.firstSeq && scanFor(buf, h.next, FRAME_CHECKPOINT, () => true) !== undefined) candidate = i;
      // Over the budget: start at the newest usable segment seen (or keep looking for one).
      if (replayed >= budget && candidate > 0) start = candidate;
    }
    for (const i of [...cached.keys()]) if (i < start) cached.delete(i);
  }
  for (let si = 0; si < start; si++) await scanOlder(si);

  for (let si = start; si < segments.length; si++) {
    const seg = segments[si]!;
    const isLast = si === segments.length - 1;
    const path = join(o.dir, seg.name);
    const buf = await readSegment(si);
    cached.delete(si);
    // A WAL whose oldest segments were pruned (§9.5) starts later: its first header's state says where.
    const pruned = si === 0 && seg.firstSeq > 0;
    if (seg.firstSeq !== size && !pruned) throw corrupt('segment_gap', `segment ${seg.name} starts at seq ${seg.firstSeq} but the log before it has ${size} records`, { segment: seg.name, seq: size });

    // The header: written and fsynced before any record, so damage to it is never a torn write —
    // unless the segment holds no complete frame at all (its creation never reached the fsync).
    const h = hasMagic(buf) ? readFrame(buf, MAGIC.length) : undefined;
    const header = h?.ok && h.type === FRAME_HEADER ? parseHeader(h.payload) : undefined;
    if (h === undefined || !h.ok || header === undefined) {
      const anyFrame = [FRAME_HEADER, FRAME_RECORD, FRAME_CHECKPOINT, FRAME_SYNC].some((t) => scanFor(buf, 0, t, () => true) !== undefined);
      if (isLast && !anyFrame) {
        remove = path;
        truncated = { segment: seg.name, offset: 0, bytes: buf.length, records: 0 };
        continue;
      }
      throw corrupt('header', `segment header is damaged (${!hasMagic(buf) ? 'segment magic' : h?.ok === false ? `header frame ${h.why}` : 'header frame does not parse'})`, { segment: seg.name, offset: hasMagic(buf) ? MAGIC.length : 0, seq: size });
    }
    if (header.first_seq !== seg.firstSeq) throw corrupt('header', `segment header says first seq ${header.first_seq}`, { segment: seg.name, offset: MAGIC.length, seq: size });
    if (origin === undefined) origin = header.origin;
    else if (header.origin !== origin) {
      throw new AuditError('AUDIT_WAL_CORRUPT', `write-ahead log in ${o.dir} belongs to log "${header.origin}", not "${origin}" (AUDIT_ORIGIN); point AUDIT_WAL_DIR elsewhere or unset AUDIT_ORIGIN`, { segment: seg.name, reason: 'origin' });
    }
    if (pruned && header.state === undefined) throw corrupt('segment_gap', `the WAL starts at seq ${seg.firstSeq} without the state to continue from (segments before it are missing)`, { segment: seg.name, seq: 0 });
    prevHex ??= toHex(genesis(origin));
    if (header.state !== undefined) {
      const nodes = header.state.tree.map((t) => fromHex(t)!);
      if (si === start && seg.firstSeq > 0) {
        resumedAt = seg.firstSeq;
        range = CompactRange.from(seg.firstSeq, nodes);
        size = seg.firstSeq;
        prevHex = header.state.prev;
        o.onResume?.(seg.firstSeq, nodes, fromHex(prevHex)!);
        const pub = o.published;
        if (pub !== undefined && pub.size === seg.firstSeq && !equalBytes(range.root(), pub.root)) {
          throw corrupt('export_mismatch', `the WAL and the export disagree: the export's checkpoint of size ${pub.size} has another root than the tree this segment continues`, { segment: seg.name, seq: pub.size });
        }
      } else if (header.state.prev !== prevHex || nodes.length !== range.nodes.length || nodes.some((n, i) => !equalBytes(n, range.nodes[i]!))) {
        throw corrupt('header', 'segment header state (chain head and tree) does not match the log before it', { segment: seg.name, offset: MAGIC.length, seq: size });
      }
    }
    const protocol: WalProtocol = header.v;
    const walked = protocol === 2 ? walkV2(buf, h.next, seg.name) : walkV1(buf, h.next, seg.name, isLast);
    if (walked.end < buf.length || walked.dropped > 0) {
      if (!isLast) throw corrupt('uncommitted_segment_end', `segment ends in ${walked.dropped > 0 ? `${walked.dropped} uncommitted records` : 'damage'} while later segments exist`, { segment: seg.name, offset: walked.end, seq: size });
      // Cut only after every check below passed: a refusal changes nothing on disk.
      cut = { path, offset: walked.end };
      truncated = { segment: seg.name, offset: walked.end, bytes: buf.length - walked.end, records: walked.dropped };
    }
    tail = { name: seg.name, firstSeq: seg.firstSeq, length: walked.end, protocol, records: size - seg.firstSeq };
  }
  if (unverified !== undefined) {
    throw new AuditError(
      'AUDIT_KEY_UNAVAILABLE',
      `the newest checkpoint frames of the write-ahead log (${unverified.segment}:${unverified.offset}) are signed only by ${unverified.keyIds.join(', ')}, which is not among the keys this engine has: the records they cover cannot be proven, and no new key can be announced under it (docs/format.md §12); put that key file back into AUDIT_KEYSTORE_DIR and restart`,
      { segment: unverified.segment, offset: unverified.offset },
    );
  }
  if (resumedAt !== undefined && checkpoint === undefined) {
    throw corrupt('header', `recovery resumed at seq ${resumedAt} from a segment header's state, but no checkpoint frame after it proves that state`, { segment: segments[start]!.name, offset: MAGIC.length, seq: resumedAt });
  }
  if (o.published !== undefined && o.published.size > size) {
    throw new AuditError('AUDIT_ROLLBACK', `the export holds a signed checkpoint of size ${o.published.size} but the write-ahead log in ${o.dir} recovered only ${size} records: refusing to roll back a signed tree size (see docs/runbook.md "Roll-back refused")`, { published: o.published.size, recovered: size });
  }
  if (cut !== undefined) {
    const fh = await o.ops.open(cut.path, 'r+');
    try {
      await fh.truncate(cut.offset);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  if (remove !== undefined) {
    await o.ops.unlink(remove);
    await o.ops.syncDir(o.dir);
  }
  return { origin, size, chainHead: head, checkpoint, truncated, tail, segments: segments.length };

  /** Where a walk stopped: the end of the last commit (or of the good frames, protocol 1), and how many records after it were dropped. */
  interface Walked {
    readonly end: number;
    readonly dropped: number;
  }

  /**
   * A segment before the bounded start (§9.5): every frame must be whole (length, CRC, type), its
   * records in seq order, its header and origin right; its records are not hashed again — the
   * start segment's state, proven by its first checkpoint, covers them. A checkpoint frame of the
   * export's size must have the export's root.
   */
  async function scanOlder(si: number): Promise<void> {
    const seg = segments[si]!;
    const buf = await readSegment(si);
    if (seg.firstSeq !== size) throw corrupt('segment_gap', `segment ${seg.name} starts at seq ${seg.firstSeq} but the log before it has ${size} records`, { segment: seg.name, seq: size });
    const h = hasMagic(buf) ? readFrame(buf, MAGIC.length) : undefined;
    const header = h?.ok && h.type === FRAME_HEADER ? parseHeader(h.payload) : undefined;
    if (h === undefined || !h.ok || header === undefined || header.first_seq !== seg.firstSeq) throw corrupt('header', 'segment header is damaged', { segment: seg.name, offset: MAGIC.length, seq: size });
    if (origin === undefined) origin = header.origin;
    else if (header.origin !== origin) {
      throw new AuditError('AUDIT_WAL_CORRUPT', `write-ahead log in ${o.dir} belongs to log "${header.origin}", not "${origin}" (AUDIT_ORIGIN); point AUDIT_WAL_DIR elsewhere or unset AUDIT_ORIGIN`, { segment: seg.name, reason: 'origin' });
    }
    let off = h.next;
    while (off < buf.length) {
      const f = readFrame(buf, off);
      if (!f.ok) throw corrupt('frame_damaged', `frame damaged (${f.why}) in a segment that later segments follow`, { segment: seg.name, offset: off, seq: size });
      if (f.type === FRAME_RECORD) {
        if (recordLinks(f.payload)?.seq !== size) throw corrupt('record_link', `record frame out of order, expected seq ${size}`, { segment: seg.name, offset: off, seq: size });
        size++;
      } else if (f.type === FRAME_CHECKPOINT && o.published !== undefined) {
        const c = checkNote(f.payload, origin, []);
        if (c.ok && c.size === o.published.size && !equalBytes(c.root, o.published.root)) {
          throw corrupt('export_mismatch', `the WAL and the export disagree: their checkpoints of size ${c.size} have different roots`, { segment: seg.name, offset: off, seq: size });
        }
      } else if (f.type === FRAME_HEADER) throw corrupt('header', 'a second segment header frame', { segment: seg.name, offset: off, seq: size });
      off = f.next;
    }
  }

  /** Protocol 2 (§9.2): records stay pending until a checkpoint frame that verifies commits them. */
  function walkV2(buf: Uint8Array, from: number, segment: string): Walked {
    const pending: Pending[] = [];
    let committedEnd = from;
    let pendingPrev = prevHex!;
    let off = from;
    const seqAt = (): number => size + pending.length;
    while (off < buf.length) {
      const f = readFrame(buf, off);
      if (!f.ok) {
        // A frame that fails (cut short, or its CRC) is a torn write only if nothing says it was
        // synced: a damaged length can make a whole frame look cut short, so scan in both cases.
        if (f.why === 'type' && crcIntact(buf, off)) throw corrupt('frame_damaged', `frame of unknown type ${buf[off + 4]} with a valid CRC`, { segment, offset: off, seq: seqAt() });
        const mark = scanFor(buf, off + 1, FRAME_SYNC, isSyncPayloadFor);
        if (mark !== undefined) throw corrupt('frame_damaged', `frame damaged (${f.why}) in bytes that were fsynced (a sync mark follows at offset ${mark})`, { segment, offset: off, seq: seqAt() });
        break;
      }
      if (f.type === FRAME_RECORD) {
        const links = recordLinks(f.payload);
        if (links === undefined || links.seq !== seqAt() || links.prev !== pendingPrev) {
          const why = links === undefined ? 'record frame without seq/prev' : links.seq !== seqAt() ? `record says seq ${links.seq}, expected ${seqAt()}` : `record ${seqAt()} does not link to record ${seqAt() - 1}`;
          throw corrupt('record_link', why, { segment, offset: off, seq: seqAt() });
        }
        const r = hashedRecord(f.payload);
        pending.push(r);
        pendingPrev = toHex(r.hash);
      } else if (f.type === FRAME_CHECKPOINT) {
        const c = checkNote(f.payload, origin, o.keys);
        if (!c.ok) throw corrupt('checkpoint', c.why, { segment, offset: off, seq: seqAt() });
        if (c.size !== seqAt()) throw corrupt('checkpoint', `checkpoint frame of size ${c.size} after ${seqAt()} records`, { segment, offset: off, seq: seqAt() });
        const probe = range.clone();
        for (const p of pending) probe.append(p.leaf);
        if (!equalBytes(probe.root(), c.root)) throw corrupt('checkpoint', `checkpoint frame's root is not the tree of the ${c.size} records before it`, { segment, offset: off, seq: seqAt() });
        for (const p of pending) commit(p, segment);
        pending.length = 0;
        prevHex = pendingPrev;
        committedEnd = f.next;
        checkpoint = { note: c.note, size: c.size, root: c.root, time: c.time };
        unverified = c.verified ? undefined : { segment, offset: off, keyIds: c.keyIds };
      } else if (f.type === FRAME_SYNC) {
        if (!isSyncPayloadFor(f.payload, off)) throw corrupt('sync_mark', 'sync mark names another offset (a moved or copied frame)', { segment, offset: off, seq: seqAt() });
        if (pending.length === 0) committedEnd = f.next;
      } else {
        throw corrupt('header', 'a second segment header frame', { segment, offset: off, seq: seqAt() });
      }
      off = f.next;
    }
    return { end: committedEnd, dropped: pending.length };
  }

  /** Protocol 1 (§9.3): records are kept as they come; a checkpoint frame may cover fewer of them. */
  function walkV1(buf: Uint8Array, from: number, segment: string, isLast: boolean): Walked {
    let off = from;
    while (off < buf.length) {
      const f = readFrame(buf, off);
      if (!f.ok) {
        const later = scanFor(buf, off + 1, FRAME_CHECKPOINT, (p) => {
          const c = checkNote(p, origin, o.keys);
          return c.ok && c.verified;
        });
        if (later !== undefined) throw corrupt('frame_damaged', `frame damaged (${f.why}) before a signed checkpoint at offset ${later}`, { segment, offset: off, seq: size });
        if (!isLast) throw corrupt('frame_damaged', `frame damaged (${f.why})`, { segment, offset: off, seq: size });
        break;
      }
      if (f.type === FRAME_RECORD) {
        const links = recordLinks(f.payload);
        if (links === undefined || links.seq !== size || links.prev !== prevHex) {
          const why = links === undefined ? 'record frame without seq/prev' : links.seq !== size ? `record says seq ${links.seq}, expected ${size}` : `record ${size} does not link to record ${size - 1}`;
          throw corrupt('record_link', why, { segment, offset: off, seq: size });
        }
        const r = hashedRecord(f.payload);
        commit(r, segment);
        prevHex = toHex(r.hash);
      } else if (f.type === FRAME_CHECKPOINT) {
        const c = checkNote(f.payload, origin, o.keys);
        if (!c.ok) throw corrupt('checkpoint', c.why, { segment, offset: off, seq: size });
        let rootOk: boolean;
        try {
          rootOk = equalBytes(c.root, c.size === size ? range.root() : o.rootAt(c.size));
        } catch {
          // That size fell out of the memory bound during replay: the root cannot be recomputed
          // here; the export verifier checks every root against the full log.
          rootOk = true;
        }
        if (c.size > size || c.size < (checkpoint?.size ?? 0) || !rootOk) throw corrupt('checkpoint', `checkpoint frame of size ${c.size} does not match the ${size} records before it`, { segment, offset: off, seq: size });
        checkpoint = { note: c.note, size: c.size, root: c.root, time: c.time };
        unverified = c.verified ? undefined : { segment, offset: off, keyIds: c.keyIds };
      } else {
        throw corrupt(f.type === FRAME_HEADER ? 'header' : 'sync_mark', f.type === FRAME_HEADER ? 'a second segment header frame' : 'sync mark in a protocol 1 segment', { segment, offset: off, seq: size });
      }
      off = f.next;
    }
    return { end: off, dropped: 0 };
  }
}
