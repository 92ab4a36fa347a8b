import { checkFields, shown, type FieldFailureReason } from './fields.js';
import { assertDistinctKeys, keysOfLog } from './key-trust.js';
import { AuditError, assertBytes, invalidArgument } from '../errors.js';
import { parseCheckpoint, type Checkpoint } from '../log/checkpoint.js';
import { HASH_BYTES, leafHash, nodeHash } from '../prim/hash.js';
import { equalBytes, inclusionProof, rootFromInclusionProof, splitPoint, type TreeReader } from '../log/merkle.js';
import { TILE_WIDTH } from '../log/tiles.js';
import { parseCanonical } from '../record/canonical.js';
import { fromBase64, toBase64 } from '../prim/base64.js';
import { openNote, parseNote, parseVerifierKey } from '../sign/note.js';
import type { FileOps } from '../sinks/fs.js';
import { defaultFileOps, join, parseCheckpointNote, perfectRoot, readBundleEntries, readOptional, tileHashesOrRecompute } from '../sinks/export/reader.js';

/**
 * Receipts: C2SP `tlog-proof@v1` (docs/format.md §11). A receipt carries the record itself in its
 * `extra` line, the inclusion proof and the signed checkpoint, so it verifies offline against the
 * log's verifier key alone. formatReceipt/parseReceipt/verifyReceipt are pure (no I/O);
 * proveFromExport reads the export's hash tiles — what tlog-tiles exists for — and recomputes a
 * tile from the level below only when it is missing.
 */

export const RECEIPT_HEADER = 'c2sp.org/tlog-proof@v1';

export interface Receipt {
  readonly index: number;
  /** The `extra` data: for ron-audit, the record's canonical bytes. Null when the line is absent. */
  readonly extra: Uint8Array | null;
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  readonly note: string;
}

export type ReceiptFailureReason = 'receipt_malformed' | 'malformed_checkpoint' | 'not_canonical' | 'bad_version' | 'bad_seq' | FieldFailureReason | 'proof_invalid' | 'signature_invalid' | 'key_untrusted';

export interface ReceiptVerification {
  readonly ok: boolean;
  readonly seq: number | null;
  /** The record, parsed; only when ok. */
  readonly record: Readonly<Record<string, unknown>> | null;
  readonly checkpoint: Checkpoint | null;
  readonly failure?: { readonly reason: ReceiptFailureReason; readonly message: string };
}

function receiptError(why: string): AuditError {
  return new AuditError('AUDIT_RECEIPT_INVALID', `malformed receipt: ${why}`);
}

/** The receipt text for record `index` (its canonical bytes), with its inclusion proof in the tree of `note`. */
export function formatReceipt(r: { record: Uint8Array; index: number; proof: readonly Uint8Array[]; note: string }): string {
  if (r === null || typeof r !== 'object') throw invalidArgument('receipt', '{record, index, proof, note}', r);
  assertBytes('record', r.record);
  if (!Number.isSafeInteger(r.index) || r.index < 0) throw invalidArgument('index', 'a safe integer ≥ 0', r.index);
  if (!Array.isArray(r.proof)) throw invalidArgument('proof', 'an array of 32-byte hashes', r.proof);
  r.proof.forEach((p, i) => assertBytes(`proof[${i}]`, p, HASH_BYTES));
  if (typeof r.note !== 'string') throw invalidArgument('note', 'a signed checkpoint note', r.note);
  parseNote(r.note); // refuse to wrap something that is not a note
  let out = `${RECEIPT_HEADER}\nextra ${toBase64(r.record)}\nindex ${r.index}\n`;
  for (const p of r.proof) out += `${toBase64(p)}\n`;
  return `${out}\n${r.note}`;
}

/** Parse a tlog-proof; throws AUDIT_RECEIPT_INVALID naming what is wrong. Signatures and the proof are not checked here. */
export function parseReceipt(text: string): Receipt {
  if (typeof text !== 'string') throw invalidArgument('text', 'a receipt string', text);
  const lines = text.split('\n');
  if (lines[0] !== RECEIPT_HEADER) throw receiptError(`the first line must be ${RECEIPT_HEADER}`);
  let i = 1;
  let extra: Uint8Array | null = null;
  if (lines[i]?.startsWith('extra ')) {
    extra = fromBase64(lines[i]!.slice(6));
    if (extra === null) throw receiptError('the extra line is not standard base64');
    i++;
  }
  const indexLine = lines[i] ?? '';
  const m = /^index (0|[1-9][0-9]*)$/.exec(indexLine);
  if (m === null) throw receiptError('expected "index <decimal, no leading zeros>"');
  const index = Number(m[1]);
  if (!Number.isSafeInteger(index)) throw receiptError('index is too large');
  i++;
  const proof: Uint8Array[] = [];
  for (; i < lines.length && lines[i] !== ''; i++) {
    const h = fromBase64(lines[i]!);
    if (h === null || h.length !== HASH_BYTES) throw receiptError(`proof line ${proof.length + 1} is not base64 of a 32-byte hash`);
    proof.push(h);
    if (proof.length > 64) throw receiptError('more than 64 proof hashes');
  }
  if (i >= lines.length) throw receiptError('no empty line before the checkpoint');
  const note = lines.slice(i + 1).join('\n');
  if (note.length === 0) throw receiptError('no checkpoint after the proof');
  return { index, extra, proof, note };
}

function failed(reason: ReceiptFailureReason, message: string, seq: number | null, checkpoint: Checkpoint | null): ReceiptVerification {
  return { ok: false, seq, record: null, checkpoint, failure: { reason, message } };
}

/**
 * Verify a receipt offline with the log's verifier key(s). Pass the key trusted at the receipt's
 * checkpoint (after a rotation, the new key; a receipt cannot walk the log's key history).
 * Never throws for a bad receipt; throws only for bad keys.
 */
export function verifyReceipt(text: string, keys: readonly string[]): ReceiptVerification {
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string')) throw invalidArgument('keys', 'a non-empty array of verifier key strings', keys);
  const trusted = keys.map((k) => parseVerifierKey(k));
  assertDistinctKeys(trusted);
  let r: Receipt;
  try {
    r = parseReceipt(text);
  } catch (err) {
    if (err instanceof AuditError && err.code === 'AUDIT_RECEIPT_INVALID') return failed('receipt_malformed', err.message, null, null);
    throw err;
  }
  let cp: Checkpoint;
  try {
    cp = parseCheckpoint(parseNote(r.note).text);
  } catch (err) {
    return failed('malformed_checkpoint', `checkpoint: ${(err as Error).message}`, r.index, null);
  }
  try {
    openNote(r.note, keysOfLog(cp.origin, trusted));
  } catch (err) {
    const e = err as AuditError;
    if (e.code === 'AUDIT_KEY_INVALID') throw err;
    const reason = e.code === 'AUDIT_SIGNATURE_INVALID' && e.details['keyId'] === undefined ? 'key_untrusted' : 'signature_invalid';
    return failed(reason, `checkpoint: ${e.message}`, r.index, cp);
  }
  if (r.extra === null) return failed('receipt_malformed', 'no extra line: a ron-audit receipt carries the record', r.index, cp);
  let rec: Record<string, unknown>;
  try {
    rec = parseCanonical(r.extra) as Record<string, unknown>;
  } catch (err) {
    return failed('not_canonical', `record: ${(err as Error).message}`, r.index, cp);
  }
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return failed('not_canonical', 'the record is not a JSON object', r.index, cp);
  if (rec['v'] !== 1) return failed('bad_version', `record has format version ${shown(rec['v'])}, expected the number 1`, r.index, cp);
  if (rec['seq'] !== r.index) return failed('bad_seq', `record says seq ${shown(rec['seq'])} but the receipt is for index ${r.index}`, r.index, cp);
  const bad = checkFields(rec);
  if (bad !== null) return failed(bad.reason, `record: ${bad.message}`, r.index, cp);
  try {
    const root = rootFromInclusionProof(r.index, cp.size, leafHash(r.extra), r.proof);
    if (!equalBytes(root, cp.root)) return failed('proof_invalid', `the inclusion proof does not lead to the checkpoint's root (size ${cp.size})`, r.index, cp);
  } catch (err) {
    return failed('proof_invalid', (err as Error).message, r.index, cp);
  }
  return { ok: true, seq: r.index, record: rec, checkpoint: cp };
}

/**
 * A TreeReader over an export's hash tiles: a perfect aligned subtree of height h is made of
 * 2^(h mod 8) consecutive hashes of tile level ⌊h/8⌋, all in one tile.
 */
class TileTreeReader {
  private readonly cache = new Map<string, Uint8Array[]>();

  constructor(
    private readonly ops: FileOps,
    private readonly dir: string,
    private readonly size: number,
  ) {}

  /** Hashes of tile (level, n) as far as the tree of `size` has them. */
  private async tile(level: number, n: number): Promise<Uint8Array[]> {
    const key = `${level}/${n}`;
    let t = this.cache.get(key);
    if (t === undefined) {
      const have = Math.floor(this.size / TILE_WIDTH ** level) - n * TILE_WIDTH;
      const width = Math.min(TILE_WIDTH, have);
      const got = await tileHashesOrRecompute(this.ops, this.dir, level, n, width);
      if (got === null) throw new AuditError('AUDIT_RANGE_UNAVAILABLE', `tile ${level}/${n} can be neither read nor recomputed from ${this.dir}`);
      t = got;
      this.cache.set(key, t);
    }
    return t;
  }

  /** Collect every perfect subtree the RFC 9162 recursion will ask for, then answer synchronously. */
  async reader(index: number): Promise<TreeReader> {
    const perfect = new Map<string, Uint8Array>();
    const need: [number, number][] = [];
    const visit = (lo: number, hi: number): void => {
      const n = hi - lo;
      if (Number.isInteger(Math.log2(n)) && lo % n === 0) {
        need.push([lo, n]);
        return;
      }
      const k = splitPoint(n);
      visit(lo, lo + k);
      visit(lo + k, hi);
    };
    // The subtrees an inclusion proof uses: siblings along the path from the leaf to the root.
    const walk = (m: number, lo: number, hi: number): void => {
      if (hi - lo === 1) return;
      const k = splitPoint(hi - lo);
      if (m < k) {
        walk(m, lo, lo + k);
        visit(lo + k, hi);
      } else {
        walk(m - k, lo + k, hi);
        visit(lo, lo + k);
      }
    };
    walk(index, 0, this.size);
    for (const [lo, n] of need) {
      const h = Math.log2(n);
      const level = Math.floor(h / 8);
      const span = 2 ** (h - level * 8);
      const first = lo / TILE_WIDTH ** level;
      const tile = await this.tile(level, Math.floor(first / TILE_WIDTH));
      const off = first % TILE_WIDTH;
      perfect.set(`${lo}:${n}`, perfectRoot(tile.slice(off, off + span)));
    }
    const reader: TreeReader = {
      subtree(lo, hi) {
        const p = perfect.get(`${lo}:${hi - lo}`);
        if (p !== undefined) return p;
        const k = splitPoint(hi - lo);
        return nodeHash(reader.subtree(lo, lo + k), reader.subtree(lo + k, hi));
      },
    };
    return reader;
  }
}

/**
 * Build the receipt of record `seq` against the export's published checkpoint, which must verify
 * with `keys`. The proof is read from the hash tiles and checked against the checkpoint before it
 * is returned; a tile that disagrees is an error (run `ronctl audit verify`), never papered over.
 */
export async function proveFromExport(opts: { dir: string; seq: number; keys: readonly string[]; ops?: FileOps }): Promise<string> {
  if (opts === null || typeof opts !== 'object') throw invalidArgument('options', '{dir, seq, keys}', opts);
  const { dir, seq, keys } = opts;
  if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument('dir', 'an export directory path', dir);
  if (!Number.isSafeInteger(seq) || seq < 0) throw invalidArgument('seq', 'a safe integer ≥ 0', seq);
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string')) throw invalidArgument('keys', 'a non-empty array of verifier key strings', keys);
  const trusted = keys.map((k) => parseVerifierKey(k));
  const ops = opts.ops ?? (await defaultFileOps());
  const raw = await readOptional(ops, join(dir, 'checkpoint'));
  if (raw === null) throw new AuditError('AUDIT_RANGE_UNAVAILABLE', `no checkpoint in ${dir}: nothing is published yet`);
  const { note, checkpoint: cp } = parseCheckpointNote(raw);
  openNote(note, keysOfLog(cp.origin, trusted)); // throws AUDIT_SIGNATURE_INVALID; only keys named for the log count (§6)
  if (seq >= cp.size) throw new AuditError('AUDIT_RANGE_UNAVAILABLE', `record ${seq} is not under the published checkpoint (size ${cp.size})`, { seq, size: cp.size });
  const b = Math.floor(seq / TILE_WIDTH);
  const read = await readBundleEntries(ops, dir, b, Math.min(TILE_WIDTH, cp.size - b * TILE_WIDTH));
  if (!('entries' in read)) throw new AuditError('AUDIT_VERIFY_FAILED', `entry bundle ${b} of ${dir} is ${'missing' in read ? 'missing' : 'malformed'}`, { seq });
  const record = read.entries[seq - b * TILE_WIDTH]!;
  let rec: unknown;
  try {
    rec = parseCanonical(record);
  } catch (err) {
    throw new AuditError('AUDIT_VERIFY_FAILED', `record ${seq}: ${(err as Error).message}`, { seq, reason: 'not_canonical' });
  }
  if ((rec as Record<string, unknown> | null)?.['seq'] !== seq) throw new AuditError('AUDIT_VERIFY_FAILED', `record at position ${seq} says seq ${String((rec as Record<string, unknown> | null)?.['seq'])}`, { seq, reason: 'bad_seq' });
  const proof = inclusionProof(await new TileTreeReader(ops, dir, cp.size).reader(seq), seq, cp.size);
  const root = rootFromInclusionProof(seq, cp.size, leafHash(record), proof);
  if (!equalBytes(root, cp.root)) {
    throw new AuditError('AUDIT_VERIFY_FAILED', `the inclusion proof of record ${seq} built from the export's tiles does not lead to the signed root: the export is damaged; run: ronctl audit verify --export-dir ${dir} --key <verifier key>`, {
      seq,
    });
  }
  return formatReceipt({ record, index: seq, proof, note });
}
