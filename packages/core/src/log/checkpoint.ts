import { AuditError, assertBytes, invalidArgument } from '../errors.js';
import { fromBase64, toBase64 } from '../prim/base64.js';
import { isValidKeyName } from '../sign/note.js';
import { HASH_BYTES } from '../prim/hash.js';
import { isRfc3339Millis } from '../prim/time.js';

/** C2SP tlog-checkpoint text (docs/format.md §5). */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Uint8Array;
  /** Milliseconds since the epoch from the `time` extension line, when present. */
  readonly time?: number;
  /** Extension lines other than `time`, kept verbatim (without their newline). */
  readonly extensions: readonly string[];
  /** From the `lane` extension line: this log is lane `index` of a set of `count` lanes (format §5). */
  readonly lane?: LaneClaim;
}

/** What a lane's checkpoint says about the set it belongs to (docs/format.md §1, §5). */
export interface LaneClaim {
  readonly index: number;
  readonly count: number;
}

/** The largest lane count a `lane` line may state. */
export const MAX_LANE_COUNT = 65535;

/** The `lane <index>/<count>` extension line of every checkpoint of a lane's log. */
export function laneExtension(index: number, count: number): string {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_LANE_COUNT) throw invalidArgument('count', `an integer 1–${MAX_LANE_COUNT}`, count);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) throw invalidArgument('index', `an integer 0–${count - 1}`, index);
  return `lane ${index}/${count}`;
}

const LANE_RE = /^lane (0|[1-9][0-9]{0,4})\/([1-9][0-9]{0,4})$/;

/** The v1 extension line of a log's final checkpoint (docs/format.md §5, §14): the log is finished. */
export const SEALED_EXTENSION = 'sealed';

/** Whether a checkpoint says its log is sealed: finished at this size, never to be appended to. */
export function isSealed(cp: Pick<Checkpoint, 'extensions'>): boolean {
  return cp.extensions.includes(SEALED_EXTENSION);
}

export function isValidOrigin(origin: unknown): origin is string {
  return typeof origin === 'string' && origin.length > 0 && origin.length <= 255 && /^[\x21-\x2a\x2c-\x7e]+$/.test(origin) && isValidKeyName(origin);
}

export function formatCheckpoint(cp: { origin: string; size: number; root: Uint8Array; time?: number; extensions?: readonly string[] }): string {
  if (cp === null || typeof cp !== 'object') throw invalidArgument('checkpoint', '{origin, size, root, time?}', cp);
  if (!isValidOrigin(cp.origin)) throw invalidArgument('origin', 'printable ASCII without "+" or space, 1–255 bytes', cp.origin);
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw invalidArgument('size', 'a safe integer ≥ 0', cp.size);
  assertBytes('root', cp.root, HASH_BYTES);
  let text = `${cp.origin}\n${cp.size}\n${toBase64(cp.root)}\n`;
  if (cp.time !== undefined) {
    // Years 0000–9999 only: outside them toISOString throws or writes a 6-digit year, not §2.2's form.
    const iso = Number.isFinite(cp.time) && Math.abs(cp.time) <= 8.64e15 ? new Date(cp.time).toISOString() : '';
    if (!isRfc3339Millis(iso)) throw invalidArgument('time', 'milliseconds since the epoch, years 0000–9999', cp.time);
    text += `time ${iso}\n`;
  }
  for (const line of cp.extensions ?? []) {
    // After `time`, one line each: printable, no newline, and not a second `time` line.
    if (typeof line !== 'string' || !/^[\x21-\x7e][\x20-\x7e]*$/.test(line) || line.startsWith('time ')) throw invalidArgument('extensions', 'printable ASCII lines, not starting with "time "', line);
    text += `${line}\n`;
  }
  return text;
}

function malformed(why: string): AuditError {
  return new AuditError('AUDIT_CHECKPOINT_MALFORMED', `malformed checkpoint: ${why}`);
}

/** Parse checkpoint text (the signed part of the note, ending in "\n"). */
export function parseCheckpoint(text: string): Checkpoint {
  if (typeof text !== 'string') throw invalidArgument('text', 'string', text);
  if (!text.endsWith('\n')) throw malformed('does not end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed('fewer than three lines');
  const [origin, sizeText, rootText, ...rest] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw malformed('empty origin');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw malformed('tree size is not a decimal without leading zeros');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw malformed('tree size is too large');
  const root = fromBase64(rootText);
  if (root === null || root.length !== HASH_BYTES) throw malformed('root is not base64 of 32 bytes');
  let time: number | undefined;
  let lane: LaneClaim | undefined;
  const extensions: string[] = [];
  for (const line of rest) {
    if (line.length === 0) throw malformed('empty extension line');
    if (line === 'lane' || line.startsWith('lane ')) {
      // A line a verifier knows is either well-formed or fatal, as `time` is: ignoring a bad one
      // would let a lane hide which set it belongs to.
      const m = LANE_RE.exec(line);
      const index = m ? Number(m[1]) : Number.NaN;
      const count = m ? Number(m[2]) : Number.NaN;
      if (lane !== undefined || !(index < count && count <= MAX_LANE_COUNT)) throw malformed('bad or repeated lane line');
      lane = { index, count };
      extensions.push(line);
      continue;
    }
    if (line.startsWith('time ')) {
      const t = line.slice(5);
      if (time !== undefined || !isRfc3339Millis(t)) throw malformed('bad or repeated time line');
      time = Date.parse(t);
    } else {
      extensions.push(line);
    }
  }
  return { origin, size, root, ...(time === undefined ? {} : { time }), extensions, ...(lane === undefined ? {} : { lane }) };
}
