import { invalidArgument } from '../errors.js';
import { parseCheckpoint, type Checkpoint } from '../log/checkpoint.js';
import { genesis, nextLink } from '../log/chain.js';
import { leafHash } from '../prim/hash.js';
import { toHex } from '../prim/hex.js';
import { CompactRange, equalBytes } from '../log/merkle.js';
import type { VerifyFailureReason } from '../log/memory.js';
import { parseCanonical } from '../record/canonical.js';
import { assertVerifierKey, openNote, parseNote, parseVerifierKey, type VerifierKey } from '../sign/note.js';
import { checkFields, shown, type FieldFailureReason } from './fields.js';
import { assertDistinctKeys, keysOfLog } from './key-trust.js';

/**
 * The whole-log verifier of docs/format.md §8. It depends only on the format layer (canonical
 * bytes, hashes, tree, notes), never on the writer, and streams: O(log n) memory.
 */

export interface VerifyInput {
  readonly origin: string;
  /** Record bytes from seq 0, in order. */
  readonly records: Iterable<Uint8Array>;
  /** The signed checkpoint note. */
  readonly checkpoint: string;
  /** Trusted verifier keys (C2SP vkey strings or parsed keys). */
  readonly keys: readonly (string | VerifierKey)[];
}

export interface VerifyFailure {
  readonly seq: number | null;
  readonly time: string | null;
  readonly reason: VerifyFailureReason | FieldFailureReason | 'malformed_checkpoint' | 'truncated';
  readonly message: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly origin: string;
  /** Records checked against the checkpoint. */
  readonly verified: number;
  readonly checkpoint: Checkpoint | null;
  readonly failure: VerifyFailure | null;
}

function fail(origin: string, verified: number, checkpoint: Checkpoint | null, failure: VerifyFailure): VerifyReport {
  return { ok: false, origin, verified, checkpoint, failure };
}

/** Verify a whole log against one checkpoint. Never throws for bad data: the report says what failed and where. */
export function verifyLog(input: VerifyInput): VerifyReport {
  if (input === null || typeof input !== 'object') throw invalidArgument('input', '{origin, records, checkpoint, keys}', input);
  const { origin, records, checkpoint: note, keys } = input;
  if (typeof origin !== 'string' || origin.length === 0) throw invalidArgument('origin', 'a non-empty string', origin);
  if (typeof note !== 'string') throw invalidArgument('checkpoint', 'a signed note string', note);
  if (!Array.isArray(keys) || keys.length === 0) throw invalidArgument('keys', 'a non-empty array of verifier keys', keys);
  if (records === null || records === undefined || typeof (records as Iterable<Uint8Array>)[Symbol.iterator] !== 'function') throw invalidArgument('records', 'an iterable of Uint8Array', records);
  const trusted = keys.map((k, i) => {
    if (typeof k === 'string') return parseVerifierKey(k);
    assertVerifierKey(`keys[${i}]`, k);
    return k;
  });
  assertDistinctKeys(trusted);

  let cp: Checkpoint;
  try {
    // Only keys named for the log's origin count (format §6); a checkpoint of another log is
    // named as such (origin_mismatch) before its signatures are looked at.
    const claimed = parseCheckpoint(parseNote(note).text);
    if (claimed.origin !== origin) return fail(origin, 0, claimed, { seq: null, time: null, reason: 'origin_mismatch', message: `checkpoint origin ${JSON.stringify(claimed.origin)} is not ${JSON.stringify(origin)}` });
    const opened = openNote(note, keysOfLog(origin, trusted));
    cp = parseCheckpoint(opened.text);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'AUDIT_KEY_INVALID') throw err; // the caller's key list is ambiguous: not a finding about the log
    return fail(origin, 0, null, {
      seq: null,
      time: null,
      reason: code === 'AUDIT_SIGNATURE_INVALID' ? 'signature_invalid' : 'malformed_checkpoint',
      message: (err as Error).message,
    });
  }
  if (cp.origin !== origin) return fail(origin, 0, cp, { seq: null, time: null, reason: 'origin_mismatch', message: `checkpoint origin ${JSON.stringify(cp.origin)} is not ${JSON.stringify(origin)}` });

  const tree = new CompactRange();
  let prev = toHex(genesis(origin));
  let seq = 0;
  for (const bytes of records) {
    if (seq >= cp.size) break;
    if (!(bytes instanceof Uint8Array)) throw invalidArgument(`records[${seq}]`, 'Uint8Array', bytes);
    let rec: Record<string, unknown>;
    try {
      rec = parseCanonical(bytes) as Record<string, unknown>;
    } catch (err) {
      return fail(origin, seq, cp, { seq, time: null, reason: 'not_canonical', message: `record ${seq}: ${(err as Error).message}` });
    }
    // Canonical JSON of a non-object (`null`, `5`, `[]`) is not a record's canonical form (§2.1).
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return fail(origin, seq, cp, { seq, time: null, reason: 'not_canonical', message: `record ${seq} is not a JSON object` });
    const time = typeof rec['time'] === 'string' ? rec['time'] : null;
    if (rec['v'] !== 1) return fail(origin, seq, cp, { seq, time, reason: 'bad_version', message: `record ${seq}: format version ${shown(rec['v'])}, expected the number 1` });
    if (rec['seq'] !== seq) return fail(origin, seq, cp, { seq, time, reason: 'bad_seq', message: `record at position ${seq} says seq ${shown(rec['seq'])}` });
    if (rec['prev'] !== prev) return fail(origin, seq, cp, { seq, time, reason: 'chain_broken', message: `record ${seq}: prev does not match the hash of the record before it` });
    const bad = checkFields(rec);
    if (bad !== null) return fail(origin, seq, cp, { seq, time, reason: bad.reason, message: `record ${seq}: ${bad.message}` });
    prev = toHex(nextLink(bytes));
    tree.append(leafHash(bytes));
    seq++;
  }
  if (seq < cp.size) return fail(origin, seq, cp, { seq, time: null, reason: 'truncated', message: `checkpoint covers ${cp.size} records but only ${seq} are present` });
  if (!equalBytes(tree.root(), cp.root)) return fail(origin, seq, cp, { seq: null, time: null, reason: 'root_mismatch', message: `root of the ${cp.size} records does not match the signed checkpoint` });
  return { ok: true, origin, verified: seq, checkpoint: cp, failure: null };
}
