import { readFileSync, readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { formatCheckpoint, parseCheckpoint } from '../log/checkpoint.js';
import { createFastBackend } from '../prim/hash-fast.js';
import { getHashBackend, leafHash, pureBackend, setHashBackend, type HashBackend } from '../prim/hash.js';
import { fromHex, toHex } from '../prim/hex.js';
import { leavesReader, rootOf } from '../log/merkle.js';
import { nativeEd25519 } from '../sign/ed25519-native.js';
import { getEd25519Backend, publicKeyFromSeed, pureEd25519, setEd25519Backend } from '../sign/ed25519.js';
import { formatVerifierKey, keyIdHex, keyIdOf, parseVerifierKey, seedSigner, signNote } from '../sign/note.js';
import { verifyLog } from './verify.js';

/**
 * ron-audit format v1 vectors (test/vectors/ron-audit/, written by make-vectors.mjs without the
 * engine): checkpoint text and signed note, and verifyLog's verdict on the log and on every
 * tamper case (docs/format.md §5, §6, §8).
 */

const RA = new URL('../../test/vectors/ron-audit/', import.meta.url);
const readJson = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, RA), 'utf8')) as T;

interface CheckpointVector {
  origin: string;
  seed: string;
  publicKey: string;
  keyId: string;
  vkey: string;
  size: number;
  root: string;
  time: string;
  text: string;
  note: string;
}
interface TamperCase {
  name: string;
  origin: string;
  keys: string[];
  checkpoint: string;
  records: string[];
  expected: { ok: false; failure: { reason: string; seq: number | null } };
}

const cp = readJson<CheckpointVector>('checkpoint.json');
const chain = readJson<{ origin: string; records: { record: string }[] }>('chain.json');
const tamper = readdirSync(new URL('tamper/', RA))
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => readJson<TamperCase>(`tamper/${f}`));

const utf8 = new TextEncoder();
const hex = (s: string): Uint8Array => fromHex(s)!;
const chainBytes = chain.records.map((r) => utf8.encode(r.record));

const originalHash = getHashBackend();
const originalEd = getEd25519Backend();
afterEach(() => {
  setHashBackend(originalHash);
  setEd25519Backend(originalEd);
});

describe('checkpoint.json: key, checkpoint text and signed note', () => {
  it('the vector belongs to chain.json\'s log', () => {
    expect(cp.origin).toBe(chain.origin);
    expect(cp.size).toBe(chain.records.length);
    expect(toHex(rootOf(leavesReader(chainBytes.map(leafHash)), cp.size))).toBe(cp.root);
  });

  for (const backend of [pureEd25519, nativeEd25519]) {
    it(`${backend.name}: public key, key ID and vkey from the seed; the note byte for byte`, async () => {
      setEd25519Backend(backend);
      const seed = hex(cp.seed);
      const pub = publicKeyFromSeed(seed, backend);
      expect(toHex(pub)).toBe(cp.publicKey);
      expect(keyIdHex(keyIdOf(cp.origin, pub))).toBe(cp.keyId);
      expect(formatVerifierKey(cp.origin, pub)).toBe(cp.vkey);
      const parsed = parseVerifierKey(cp.vkey);
      expect(toHex(parsed.publicKey)).toBe(cp.publicKey);
      expect(keyIdHex(parsed.keyId)).toBe(cp.keyId);

      const text = formatCheckpoint({ origin: cp.origin, size: cp.size, root: hex(cp.root), time: Date.parse(cp.time) });
      expect(text).toBe(cp.text);
      const back = parseCheckpoint(cp.text);
      expect([back.origin, back.size, toHex(back.root), back.time, back.extensions]).toEqual([cp.origin, cp.size, cp.root, Date.parse(cp.time), []]);
      expect(await signNote(text, [seedSigner(cp.origin, seed)])).toBe(cp.note);
    });
  }
});

const backends: [string, () => Promise<HashBackend>][] = [
  ['pure', async () => pureBackend],
  ['fast', () => createFastBackend()],
];

describe('verifyLog on the vector log', () => {
  for (const [name, make] of backends) {
    it(`${name}: accepts chain.json's log under checkpoint.json's note (vkey string or parsed key)`, async () => {
      setHashBackend(await make());
      for (const key of [cp.vkey, parseVerifierKey(cp.vkey)]) {
        const report = verifyLog({ origin: cp.origin, records: chainBytes, checkpoint: cp.note, keys: [key] });
        expect(report.failure).toBeNull();
        expect(report.ok).toBe(true);
        expect(report.verified).toBe(5);
        expect(report.checkpoint?.size).toBe(5);
        expect(toHex(report.checkpoint!.root)).toBe(cp.root);
      }
    });
  }
});

describe('verifyLog on the tamper cases', () => {
  it('covers every required tampering', () => {
    expect(tamper.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'byte-flip-in-value',
        'byte-flip-in-syntax',
        'record-deleted',
        'records-swapped',
        'record-duplicated',
        'record-inserted',
        'truncated',
        'not-canonical-whitespace',
        'checkpoint-unknown-key',
        'checkpoint-other-log',
        'splice-of-two-logs',
      ]),
    );
  });

  for (const [name, make] of backends) {
    for (const t of tamper) {
      it(`${name}: ${t.name} → ${t.expected.failure.reason} at ${String(t.expected.failure.seq)}`, async () => {
        setHashBackend(await make());
        const report = verifyLog({ origin: t.origin, records: t.records.map((r) => utf8.encode(r)), checkpoint: t.checkpoint, keys: t.keys });
        expect(report.ok).toBe(false);
        expect({ reason: report.failure?.reason, seq: report.failure?.seq }).toEqual(t.expected.failure);
      });
    }
  }
});
