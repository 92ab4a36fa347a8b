import { CanonicalScanner } from './canonical-scan.js';
import { checkFields, shown, type FieldFailureReason } from './fields.js';
import { fieldsProven } from './fields-fast.js';
import { isKeyAction, RESERVED_KEY_PREFIX } from './key-trust.js';

/**
 * The checks an export verifier makes of one record on its own and against the link before it
 * (docs/format.md §2.1 canonical form, §2.2 members, §3 `v`, `seq`, `prev`), in one function
 * shared by the sequential pass (export.ts) and the bundle workers (bundle-check.ts), so the two
 * cannot disagree on what passes. Trust (key records, §12) and the tree are the caller's.
 */

/** The reasons a record fails on its own or against the link before it (a subset of ExportFailureReason). */
export type RecordFailureReason = FieldFailureReason | 'not_canonical' | 'bad_version' | 'bad_seq' | 'chain_broken';

/** What is wrong with a record: the failure's reason and message, and the record's `time` when it parses. */
export class BadRecord {
  constructor(
    readonly reason: RecordFailureReason,
    readonly message: string,
    readonly time: string | null,
  ) {}
}

type BufferLike = { prototype?: { utf8Slice?: (this: Uint8Array, start: number, end: number) => string } };
const nodeUtf8Slice = (globalThis as { Buffer?: BufferLike }).Buffer?.prototype?.utf8Slice;
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A record already scanned as canonical: JSON.parse cannot fail. The scan has also proven the
 * bytes strict UTF-8, so on Node the decoding skips a second validation (Buffer's utf8Slice,
 * ~0.2 µs against ~0.4 µs for a fatal TextDecoder on a 700-byte record).
 */
export function parseRecord(bytes: Uint8Array): Record<string, unknown> {
  return JSON.parse(nodeUtf8Slice !== undefined ? nodeUtf8Slice.call(bytes, 0, bytes.length) : utf8Strict.decode(bytes)) as Record<string, unknown>;
}

/** The `time` member of the record just scanned, when it is a string. */
export function timeOf(scanner: CanonicalScanner): string | null {
  const t = scanner.members.time;
  return t?.kind === 's' ? scanner.stringOf(t) : null;
}

/** Whether a record `time` is within [since, until] (a record without a readable time is not). */
export function inWindow(time: string | null, since: number, until: number): boolean {
  const t = time === null ? Number.NaN : Date.parse(time);
  return t >= since && t <= until;
}

/**
 * Check the record at position `seq` whose `prev` must equal `prevHex` (64 lowercase hex ASCII
 * bytes): canonical, `v` = 1, `seq` = its position, the chain link, the §2.2 members. Returns
 * null when it passes, else what is wrong with it. The scanner keeps the scan for the caller
 * (`time`, `action`). The members are proven off the bytes (fields-fast.ts) and, when that
 * cannot prove them, parsed and checked by checkFields, which then names the failure.
 */
export function checkRecord(scanner: CanonicalScanner, bytes: Uint8Array, seq: number, prevHex: Uint8Array): BadRecord | null {
  if (!scanner.scan(bytes)) return new BadRecord('not_canonical', `record ${seq} is not RFC 8785 canonical JSON: ${scanner.error} (byte ${scanner.errorAt})`, null);
  const m = scanner.members;
  // Values are printed as JSON, so "1" (a string) never reads as the number 1 in a report.
  if (m.v?.kind !== 'n' || scanner.numberOf(m.v) !== 1) return new BadRecord('bad_version', `record ${seq}: format version ${shown(parseRecord(bytes)['v'])}, expected the number 1`, timeOf(scanner));
  if (m.seq?.kind !== 'n' || scanner.numberOf(m.seq) !== seq) {
    return new BadRecord('bad_seq', `record at position ${seq} says seq ${shown(parseRecord(bytes)['seq'])} (an entry was deleted, duplicated, moved or inserted)`, timeOf(scanner));
  }
  if (!scanner.equalsBytes(m.prev, prevHex)) return new BadRecord('chain_broken', `record ${seq}: prev does not match the hash of record ${seq - 1 < 0 ? 'the genesis link' : seq - 1}`, timeOf(scanner));
  if (fieldsProven(bytes)) return null;
  const bad = checkFields(parseRecord(bytes));
  return bad === null ? null : new BadRecord(bad.reason, `record ${seq}: ${bad.message}`, timeOf(scanner));
}

const PREFIX = Array.from(RESERVED_KEY_PREFIX, (c) => c.charCodeAt(0));

/** Whether the record just scanned is a key record (its `action` starts with ron-audit.key., §12), read off its bytes. */
export function isKeyRecord(scanner: CanonicalScanner, bytes: Uint8Array): boolean {
  const a = scanner.members.action;
  if (a === null || a.kind !== 's') return false;
  if (!a.plain) return isKeyAction(scanner.stringOf(a));
  if (a.end - a.start < PREFIX.length) return false;
  for (let i = 0; i < PREFIX.length; i++) if (bytes[a.start + i] !== PREFIX[i]) return false;
  return true;
}
