import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAuditError } from '../errors.js';
import { leafHash } from '../prim/hash.js';
import { canonicalBytes } from '../record/canonical.js';
import { inclusionProof, leavesReader } from '../log/merkle.js';
import { fromBase64, toBase64 } from '../prim/base64.js';
import { formatReceipt, parseReceipt, proveFromExport, RECEIPT_HEADER, verifyReceipt } from './receipt.js';
import { seedSigner, signNoteSync } from '../sign/note.js';
import { buildRecords, seed, signCheckpoint, vkeyOf, writeExport } from '../../test/support/export-log.js';
import { cleanup, tempDir } from '../../test/support/engine.js';

const V1 = vkeyOf(seed(1));
const records = buildRecords(700);
const leaves = records.map((r) => leafHash(r));
let base: string;
let dir: string;

beforeAll(async () => {
  base = await tempDir('ron-receipt-');
  dir = join(base, 'export');
  await writeExport(dir, records, [300, 700]);
});
afterAll(cleanup);

describe('receipts (c2sp.org/tlog-proof@v1)', () => {
  it.each([0, 1, 255, 256, 299, 511, 512, 698, 699])('proves record %i from the tiles and verifies offline', async (seq) => {
    const text = await proveFromExport({ dir, seq, keys: [V1] });
    const r = parseReceipt(text);
    expect(r.index).toBe(seq);
    expect(Buffer.from(r.extra!).equals(Buffer.from(records[seq]!))).toBe(true);
    expect(r.proof.map(toBase64)).toEqual(inclusionProof(leavesReader(leaves), seq, 700).map(toBase64));
    expect(r.note).toBe(signCheckpoint(records, 700));
    const v = verifyReceipt(text, [V1]);
    expect(v).toMatchObject({ ok: true, seq, record: { seq, id: `rec-${seq}` }, checkpoint: { size: 700 } });
  });

  it('has the C2SP layout: header, extra, index, proof lines, empty line, the note verbatim', async () => {
    const text = await proveFromExport({ dir, seq: 5, keys: [V1] });
    const lines = text.split('\n');
    expect(lines[0]).toBe(RECEIPT_HEADER);
    expect(lines[1]).toBe(`extra ${toBase64(records[5]!)}`);
    expect(lines[2]).toBe('index 5');
    const proofLen = inclusionProof(leavesReader(leaves), 5, 700).length;
    expect(lines[3 + proofLen]).toBe('');
    expect(lines.slice(4 + proofLen).join('\n')).toBe(signCheckpoint(records, 700));
  });

  it('recomputes a missing tile from the level below', async () => {
    const d = join(base, 'missing-tiles');
    await writeExport(d, records, [700]);
    await rm(join(d, 'tile/1/000.p/2'));
    await rm(join(d, 'tile/0/001'));
    const v = verifyReceipt(await proveFromExport({ dir: d, seq: 10, keys: [V1] }), [V1]);
    expect(v.ok).toBe(true);
  });

  it('refuses to hand out a proof from a tampered tile', async () => {
    const d = join(base, 'bad-tile');
    await writeExport(d, records, [700]);
    const t = await readFile(join(d, 'tile/1/000.p/2'));
    t[40]! ^= 1;
    await writeFile(join(d, 'tile/1/000.p/2'), t);
    const err = await proveFromExport({ dir: d, seq: 10, keys: [V1] }).catch((e: unknown) => e);
    expect(isAuditError(err, 'AUDIT_VERIFY_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/ronctl audit verify/);
  });

  it('refuses a record beyond the checkpoint and a checkpoint the keys do not open', async () => {
    expect(isAuditError(await proveFromExport({ dir, seq: 700, keys: [V1] }).catch((e: unknown) => e), 'AUDIT_RANGE_UNAVAILABLE')).toBe(true);
    expect(isAuditError(await proveFromExport({ dir, seq: 1, keys: [vkeyOf(seed(9))] }).catch((e: unknown) => e), 'AUDIT_SIGNATURE_INVALID')).toBe(true);
    expect(isAuditError(await proveFromExport({ dir: join(base, 'none'), seq: 1, keys: [V1] }).catch((e: unknown) => e), 'AUDIT_RANGE_UNAVAILABLE')).toBe(true);
    for (const bad of [{ dir, seq: -1, keys: [V1] }, { dir, seq: 1.5, keys: [V1] }, { dir: '', seq: 1, keys: [V1] }, { dir, seq: 1, keys: [] }, null]) {
      expect(isAuditError(await proveFromExport(bad as never).catch((e: unknown) => e), 'AUDIT_INVALID_ARGUMENT')).toBe(true);
    }
  });

  describe('tampered receipts', () => {
    let good: string;
    beforeAll(async () => {
      good = await proveFromExport({ dir, seq: 300, keys: [V1] });
    });
    const edit = (fn: (lines: string[]) => void): string => {
      const lines = good.split('\n');
      fn(lines);
      return lines.join('\n');
    };
    const record = (mut: (r: Record<string, unknown>) => void, raw = false): string =>
      edit((l) => {
        const bytes = fromBase64(l[1]!.slice(6))!;
        const r = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
        mut(r);
        // Canonical bytes of the changed record (a key-list replacer would also drop nested members such as actor.type).
        l[1] = `extra ${toBase64(raw ? new TextEncoder().encode(JSON.stringify(r, null, 1)) : canonicalBytes(r))}`;
      });

    const cases: [string, () => string, string][] = [
      ['record content changed', () => record((r) => (r['outcome'] = 'failure')), 'proof_invalid'],
      ['record not canonical', () => record(() => undefined, true), 'not_canonical'],
      ['record of another seq', () => edit((l) => (l[2] = 'index 301')), 'bad_seq'],
      ['proof hash flipped', () => edit((l) => (l[3] = toBase64(new Uint8Array(32).fill(7)))), 'proof_invalid'],
      ['proof line dropped', () => edit((l) => l.splice(3, 1)), 'proof_invalid'],
      ['proof lines swapped', () => edit((l) => ([l[3], l[4]] = [l[4]!, l[3]!])), 'proof_invalid'],
      ['extra missing', () => edit((l) => l.splice(1, 1)), 'receipt_malformed'],
      ['header wrong', () => edit((l) => (l[0] = 'c2sp.org/tlog-proof@v2')), 'receipt_malformed'],
      ['checkpoint re-signed by an unknown key', () => good.slice(0, good.indexOf('\n\n') + 2) + signCheckpoint(records, 700, [seed(9)]), 'key_untrusted'],
      ['checkpoint text changed', () => good.replace(/\ntime [^\n]+\n/, '\ntime 2030-01-01T00:00:00.000Z\n'), 'signature_invalid'],
    ];
    it.each(cases)('%s', (_n, make, reason) => {
      const v = verifyReceipt(make(), [V1]);
      expect(v.ok).toBe(false);
      expect(v.failure?.reason).toBe(reason);
      expect(v.record).toBeNull();
    });

    it('the untouched receipt verifies', () => {
      expect(verifyReceipt(good, [V1]).ok).toBe(true);
    });

    it('a key of another log signs this one (issue 14 item 4): a checkpoint re-signed by a key trusted only for another log is key_untrusted', () => {
      const EVIL = 'audit.test.example/evil';
      const note = good.slice(good.indexOf('\n\n') + 2);
      const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
      const forged = good.slice(0, good.indexOf('\n\n') + 2) + signNoteSync(text, [seedSigner(EVIL, seed(9))]);
      const v = verifyReceipt(forged, [V1, vkeyOf(seed(9), EVIL)]);
      expect(v.ok).toBe(false);
      expect(v.failure?.reason).toBe('key_untrusted');
      // The same key given for this log's origin would count: the rule is the name, not the key bytes.
      const genuine = good.slice(0, good.indexOf('\n\n') + 2) + signNoteSync(text, [seedSigner(text.slice(0, text.indexOf('\n')), seed(9))]);
      expect(verifyReceipt(genuine, [vkeyOf(seed(9), text.slice(0, text.indexOf('\n')))]).ok).toBe(true);
    });
  });

  describe('wrong input', () => {
    const bad: [string, unknown][] = [
      ['not a string', 5],
      ['empty', ''],
      ['no index', `${RECEIPT_HEADER}\n\nnote\n`],
      ['index with leading zero', `${RECEIPT_HEADER}\nindex 01\n\nx\n`],
      ['negative index', `${RECEIPT_HEADER}\nindex -1\n\nx\n`],
      ['huge index', `${RECEIPT_HEADER}\nindex 99999999999999999999\n\nx\n`],
      ['bad base64 extra', `${RECEIPT_HEADER}\nextra ***\nindex 1\n\nx\n`],
      ['proof not 32 bytes', `${RECEIPT_HEADER}\nindex 1\nAAAA\n\nx\n`],
      ['no empty line', `${RECEIPT_HEADER}\nindex 1\n`],
      ['no note', `${RECEIPT_HEADER}\nindex 1\n\n`],
    ];
    it.each(bad)('parseReceipt refuses %s', (_n, text) => {
      const err = (() => {
        try {
          parseReceipt(text as string);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(isAuditError(err, 'AUDIT_RECEIPT_INVALID') || isAuditError(err, 'AUDIT_INVALID_ARGUMENT')).toBe(true);
      if (typeof text === 'string') expect(verifyReceipt(text, [V1]).failure?.reason).toBe('receipt_malformed');
    });

    it('verifyReceipt throws only for bad keys', () => {
      expect(() => verifyReceipt('x', [])).toThrow(/keys/);
      expect(() => verifyReceipt('x', ['nope'])).toThrow(/verifier key/);
    });

    it('formatReceipt refuses wrong shapes', () => {
      const note = signCheckpoint(records, 10);
      const ok = { record: records[1]!, index: 1, proof: [leaves[0]!], note };
      expect(() => formatReceipt(ok)).not.toThrow();
      for (const b of [{ ...ok, record: 'x' }, { ...ok, index: -1 }, { ...ok, index: 1.5 }, { ...ok, proof: [new Uint8Array(31)] }, { ...ok, proof: 'x' }, { ...ok, note: 5 }]) {
        expect(() => formatReceipt(b as never)).toThrow();
      }
      expect(() => formatReceipt({ ...ok, note: 'not a note' })).toThrow(/note/);
    });
  });
});
