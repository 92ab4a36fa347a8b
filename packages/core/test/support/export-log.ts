// Logs and exports built from the format layer, for the export writer, verifier, receipt and CLI
// tests: real records (prepareEvent + the chain), real Ed25519 signatures, real files.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { formatCheckpoint } from '../../src/log/checkpoint.js';
import { genesis as genesisLink, nextLink as recordHash } from '../../src/log/chain.js';
import { leafHash } from '../../src/prim/hash.js';
import { toHex } from '../../src/prim/hex.js';
import { CompactRange } from '../../src/log/merkle.js';
import { prepareEvent, prepareInternalEvent, recordBytes, RESERVED_ACTION_PREFIX, type AuditEvent } from '../../src/record/record.js';
import { createRedactor } from '../../src/record/redact.js';
import { toBase64 } from '../../src/prim/base64.js';
import { signEd25519 } from '../../src/sign/ed25519.js';
import { formatVerifierKey, seedSigner, signNoteSync } from '../../src/sign/note.js';
import { ExportWriter } from '../../src/sinks/export/writer.js';
import { encodeFrames, FRAME_CHECKPOINT, FRAME_HEADER, FRAME_RECORD, MAGIC, type FrameType } from '../../src/sinks/wal/frame.js';
import { headerPayload, segmentName } from '../../src/sinks/wal/segment.js';
import { keyAnnounceMessage, keyRetireMessage, KEY_ANNOUNCE_ACTION, KEY_RETIRE_ACTION } from '../../src/sign/rotation.js';

export const ORIGIN = 'audit.test.example/export/1';
export const T0 = Date.parse('2026-11-27T06:00:00.000Z');
/** Milliseconds between consecutive records' times. */
export const STEP_MS = 1000;

export const seed = (i: number): Uint8Array => new Uint8Array(32).fill(i);
export const vkeyOf = (s: Uint8Array, origin = ORIGIN): string => formatVerifierKey(origin, seedSigner(origin, s).publicKey);

const redactor = createRedactor(undefined);

export function event(i: number, t: number = T0 + i * STEP_MS): AuditEvent {
  return {
    action: 'POST /orders/:id',
    outcome: 'success',
    actor: { id: `user-${i % 7}`, type: 'user' },
    time: t,
    id: `rec-${i}`,
    attributes: { 'http.request.method': 'POST', 'url.path': `/orders/${i}`, 'http.response.status_code': 201 },
  };
}

/** Records of a log: event(i) for each seq unless `custom` supplies another event. */
export function buildRecords(n: number, opts: { origin?: string; custom?: (seq: number, prevRecords: readonly Uint8Array[]) => AuditEvent | undefined; first?: readonly Uint8Array[] } = {}): Uint8Array[] {
  const origin = opts.origin ?? ORIGIN;
  const out: Uint8Array[] = [...(opts.first ?? [])];
  let prev = out.length === 0 ? toHex(genesisLink(origin)) : toHex(recordHash(out[out.length - 1]!));
  for (let seq = out.length; seq < n; seq++) {
    const e = opts.custom?.(seq, out) ?? event(seq);
    // Key records are the engine's own (reserved actions); this fixture plays the engine.
    const prepare = e.action.startsWith(RESERVED_ACTION_PREFIX) ? prepareInternalEvent : prepareEvent;
    const bytes = recordBytes(prepare(e, redactor, () => `rec-${seq}`, T0 + seq * STEP_MS), seq, prev);
    out.push(new Uint8Array(bytes));
    prev = toHex(recordHash(bytes));
  }
  return out;
}

export function rootOfRecords(records: readonly Uint8Array[], size = records.length): Uint8Array {
  const r = new CompactRange();
  for (let i = 0; i < size; i++) r.append(leafHash(records[i]!));
  return r.root();
}

/** A signed checkpoint note of the first `size` records, signed by each of `seeds`. */
export function signCheckpoint(records: readonly Uint8Array[], size: number, seeds: readonly Uint8Array[] = [seed(1)], opts: { origin?: string; time?: number; extensions?: readonly string[] } = {}): string {
  const origin = opts.origin ?? ORIGIN;
  const text = formatCheckpoint({ origin, size, root: rootOfRecords(records, size), time: opts.time ?? T0 + size * STEP_MS, ...(opts.extensions ? { extensions: opts.extensions } : {}) });
  return signNoteSync(
    text,
    seeds.map((s) => seedSigner(origin, s)),
  );
}

/** The event announcing `next` signed by `by` (format §12). */
/** A key announcement of `next` by `by` (named for `byOrigin`, default the log's origin), signed with `signWith` (default `by`). */
export function announceEvent(by: Uint8Array, next: Uint8Array, opts: { origin?: string; signWith?: Uint8Array; byOrigin?: string } = {}): AuditEvent {
  const origin = opts.origin ?? ORIGIN;
  const nextV = vkeyOf(next, origin);
  return {
    action: KEY_ANNOUNCE_ACTION,
    outcome: 'success',
    actor: { id: 'ron-audit', type: 'system' },
    annotations: {
      'ron-audit.key.new': nextV,
      'ron-audit.key.by': vkeyOf(by, opts.byOrigin ?? origin),
      'ron-audit.key.sig': toBase64(signEd25519(opts.signWith ?? by, keyAnnounceMessage(origin, nextV))),
    },
  };
}

export function retireEvent(by: Uint8Array, retired: Uint8Array, origin = ORIGIN): AuditEvent {
  const oldV = vkeyOf(retired, origin);
  return {
    action: KEY_RETIRE_ACTION,
    outcome: 'success',
    actor: { id: 'ron-audit', type: 'system' },
    annotations: {
      'ron-audit.key.retired': oldV,
      'ron-audit.key.by': vkeyOf(by, origin),
      'ron-audit.key.sig': toBase64(signEd25519(by, keyRetireMessage(origin, oldV))),
    },
  };
}

/**
 * Publish `records` to `dir` with the real ExportWriter, one publication per entry of `sizes`
 * (each flushed), checkpoints signed by `seeds` (or by `signers(size)`).
 */
export async function writeExport(
  dir: string,
  records: readonly Uint8Array[],
  sizes: readonly number[],
  opts: { seeds?: readonly Uint8Array[]; signers?: (size: number) => readonly Uint8Array[]; origin?: string } = {},
): Promise<Map<number, string>> {
  const w = await ExportWriter.open({ dir, every: 1_000_000, intervalMs: 3_600_000 });
  const notes = new Map<number, string>();
  for (const size of sizes) {
    if (size > w.expectedSeq) w.addRecords(w.expectedSeq, records.slice(w.expectedSeq, size));
    const note = signCheckpoint(records, size, opts.signers?.(size) ?? opts.seeds ?? [seed(1)], { ...(opts.origin ? { origin: opts.origin } : {}) });
    notes.set(size, note);
    w.offerCheckpoint({ note, size, time: T0 + size * STEP_MS });
    await w.flush();
  }
  await w.close();
  return notes;
}

/** Every file under `dir`, relative, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

/**
 * A one-segment write-ahead log (format §9) holding `records`, with a checkpoint frame (signed by
 * seed(1)) after each size in `checkpointsAt`, as the engine would have written it.
 */
export async function writeWal(dir: string, records: readonly Uint8Array[], checkpointsAt: readonly number[], origin = ORIGIN): Promise<void> {
  await mkdir(dir, { recursive: true });
  const frames: { type: FrameType; payload: Uint8Array }[] = [{ type: FRAME_HEADER, payload: headerPayload(origin, 0) }];
  const enc = new TextEncoder();
  records.forEach((r, i) => {
    frames.push({ type: FRAME_RECORD, payload: r });
    if (checkpointsAt.includes(i + 1)) frames.push({ type: FRAME_CHECKPOINT, payload: enc.encode(signCheckpoint(records, i + 1, [seed(1)], { origin })) });
  });
  const body = encodeFrames(frames);
  const out = new Uint8Array(MAGIC.length + body.length);
  out.set(MAGIC);
  out.set(body, MAGIC.length);
  await writeFile(join(dir, segmentName(0)), out);
}
