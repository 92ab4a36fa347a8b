import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditError, isAuditError, type AuditErrorCode } from '../errors.js';
import { parseCheckpoint } from '../log/checkpoint.js';
import { toHex } from '../prim/hex.js';
import { fromBase64 } from '../prim/base64.js';
import { nativeEd25519 } from './ed25519-native.js';
import { getEd25519Backend, pureEd25519, setEd25519Backend } from './ed25519.js';
import { formatVerifierKey, keyIdHex, openNote, parseNote, parseVerifierKey, seedSigner, signNote, signNoteSync, type NoteSignature } from './note.js';

/**
 * C2SP signed-note / tlog-checkpoint and Go sumdb/note vectors (test/vectors/signed-note/).
 * Outcomes follow Go's note.Open; Go's error strings map to our codes below.
 */

interface Sig {
  name: string;
  keyId: string;
}
interface NoteCase {
  name: string;
  note: string | null;
  noteBase64: string;
  verifierKeys: string[];
  expected: {
    ok: boolean;
    error?: string;
    text?: string;
    verifiedSigs?: Sig[];
    unverifiedSigs?: Sig[];
    checkpoint?: { origin: string; size: string; rootHashBase64: string; rootHashHex: string };
  };
}
interface VkeyCase {
  vkey: string;
  valid: boolean;
  name?: string;
  keyId?: string;
  publicKeyHex?: string;
  expectedError?: string;
}
interface SigningCase {
  name: string;
  signerKey: string;
  text: string;
  expectedNote: string;
  matchingVerifierKey: string;
}
interface Examples {
  cases: NoteCase[];
  verifierKeys: VkeyCase[];
  signing: SigningCase[];
}

const examples = JSON.parse(readFileSync(new URL('../../test/vectors/signed-note/examples.json', import.meta.url), 'utf8')) as Examples;

/** Go's error strings (informative in the vectors) → our stable codes. */
function codeFor(goError: string): AuditErrorCode {
  if (goError === 'malformed note') return 'AUDIT_NOTE_MALFORMED';
  if (goError === 'note has no verifiable signatures' || goError.startsWith('invalid signature for key')) return 'AUDIT_SIGNATURE_INVALID';
  if (goError.startsWith('ambiguous key')) return 'AUDIT_KEY_INVALID';
  throw new Error(`no mapping for Go error ${JSON.stringify(goError)}`);
}

const sigs = (list: readonly NoteSignature[]): Sig[] => list.map((s) => ({ name: s.name, keyId: keyIdHex(s.keyId) }));
const noteBytes = (c: NoteCase): Uint8Array => new Uint8Array(Buffer.from(c.noteBase64, 'base64'));

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

const originalEd = getEd25519Backend();
afterEach(() => setEd25519Backend(originalEd));

describe('signed-note examples: openNote with the given verifier keys', () => {
  it('has the 23 cases', () => {
    expect(examples.cases).toHaveLength(23);
  });

  for (const backend of [pureEd25519, nativeEd25519]) {
    for (const c of examples.cases) {
      it(`${backend.name}: ${c.name} → ${c.expected.ok ? 'ok' : c.expected.error}`, () => {
        setEd25519Backend(backend);
        const keys = c.verifierKeys.map(parseVerifierKey);
        const bytes = noteBytes(c);
        if (c.note !== null) expect(new TextEncoder().encode(c.note)).toEqual(bytes);
        // The same outcome from the bytes and from the string (when the bytes are UTF-8).
        const inputs: (string | Uint8Array)[] = c.note === null ? [bytes] : [bytes, c.note];
        for (const input of inputs) {
          if (c.expected.ok) {
            const opened = openNote(input, keys);
            expect(opened.text).toBe(c.expected.text);
            expect(sigs(opened.verified)).toEqual(c.expected.verifiedSigs);
            expect(sigs(opened.unverified)).toEqual(c.expected.unverifiedSigs);
          } else {
            const err = caught(() => openNote(input, keys));
            expect(err).toBeInstanceOf(AuditError);
            expect((err as AuditError).code).toBe(codeFor(c.expected.error!));
          }
        }
      });
    }
  }
});

describe('signed-note examples: structure (parseNote, parseCheckpoint)', () => {
  for (const c of examples.cases) {
    const e = c.expected;
    if (e.text === undefined) continue;
    it(`${c.name}: text and signature lines`, () => {
      const parsed = parseNote(noteBytes(c));
      expect(parsed.text).toBe(e.text);
      // With no trusted keys every distinct signature line is "unverified".
      const all = [...(e.verifiedSigs ?? []), ...(e.unverifiedSigs ?? [])];
      expect(sigs(parsed.signatures).sort(bySig)).toEqual([...all].sort(bySig));
      if (e.checkpoint) {
        const cp = parseCheckpoint(parsed.text);
        expect(cp.origin).toBe(e.checkpoint.origin);
        expect(cp.size).toBe(Number(e.checkpoint.size));
        expect(String(cp.size)).toBe(e.checkpoint.size);
        expect(toHex(cp.root)).toBe(e.checkpoint.rootHashHex);
        expect(Buffer.from(cp.root).toString('base64')).toBe(e.checkpoint.rootHashBase64);
        expect(cp.extensions).toEqual([]);
      }
    });
  }

  it('every case without text is malformed or fails before a text is returned', () => {
    const withoutText = examples.cases.filter((c) => c.expected.text === undefined);
    expect(withoutText.map((c) => c.name).sort()).toEqual(
      [
        'go-open-101-signatures-known',
        'go-open-101-signatures-unknown',
        'go-open-duplicate-verifier-used',
        'go-open-invalid-signature',
        'go-open-malformed-control-character-0x01',
        'go-open-malformed-invalid-utf8-0xff',
        'go-open-malformed-missing-final-newline',
        'go-open-malformed-space-in-key-name-no-newline',
        'go-open-malformed-text-and-blank-line-only',
        'go-open-malformed-text-only',
        'go-open-malformed-unexpected-line-after-signatures',
      ].sort(),
    );
    for (const c of withoutText) {
      if (c.expected.error !== 'malformed note') continue;
      expect(isAuditError(caught(() => parseNote(noteBytes(c))), 'AUDIT_NOTE_MALFORMED'), c.name).toBe(true);
    }
  });
});

function bySig(a: Sig, b: Sig): number {
  return a.name === b.name ? a.keyId.localeCompare(b.keyId) : a.name < b.name ? -1 : 1;
}

describe('verifier keys', () => {
  const valid = examples.verifierKeys.filter((k) => k.valid);
  const invalid = examples.verifierKeys.filter((k) => !k.valid);

  it('the 7 valid vkeys parse with their name, key ID and public key, and format back identically', () => {
    expect(valid).toHaveLength(7);
    for (const k of valid) {
      const parsed = parseVerifierKey(k.vkey);
      expect(parsed.name).toBe(k.name);
      expect(keyIdHex(parsed.keyId)).toBe(k.keyId);
      expect(toHex(parsed.publicKey)).toBe(k.publicKeyHex);
      expect(formatVerifierKey(parsed.name, parsed.publicKey)).toBe(k.vkey);
    }
  });

  it('the 2 invalid vkeys are rejected with AUDIT_KEY_INVALID', () => {
    expect(invalid).toHaveLength(2);
    for (const k of invalid) expect(isAuditError(caught(() => parseVerifierKey(k.vkey)), 'AUDIT_KEY_INVALID'), k.vkey).toBe(true);
  });
});

describe('signing vector (Go TestSign)', () => {
  const [v] = examples.signing;

  /** PRIVATE+KEY+<name>+<key ID>+base64(0x01 ‖ seed); the base64 part may itself contain '+'. */
  function decodeSignerKey(key: string): { name: string; keyId: string; seed: Uint8Array } {
    const parts = key.split('+');
    expect(parts.slice(0, 2)).toEqual(['PRIVATE', 'KEY']);
    const raw = fromBase64(parts.slice(4).join('+'));
    expect(raw).not.toBeNull();
    expect(raw!.length).toBe(33);
    expect(raw![0]).toBe(0x01);
    return { name: parts[2]!, keyId: parts[3]!, seed: raw!.subarray(1) };
  }

  for (const backend of [pureEd25519, nativeEd25519]) {
    it(`${backend.name}: signNote with the Go test key reproduces the expected note exactly`, async () => {
      setEd25519Backend(backend);
      expect(v).toBeDefined();
      const { name, keyId, seed } = decodeSignerKey(v!.signerKey);
      const signer = seedSigner(name, seed);
      expect(keyIdHex(signer.keyId)).toBe(keyId);
      expect(formatVerifierKey(name, signer.publicKey)).toBe(v!.matchingVerifierKey);
      expect(await signNote(v!.text, [signer])).toBe(v!.expectedNote);
      expect(signNoteSync(v!.text, [signer])).toBe(v!.expectedNote);
      const opened = openNote(v!.expectedNote, [parseVerifierKey(v!.matchingVerifierKey)]);
      expect(sigs(opened.verified)).toEqual([{ name, keyId }]);
    });
  }
});

describe('regressions', () => {
  const peter = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const peterSig = '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
  const text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";

  it('101 identical signature lines are malformed (the cap counts lines before de-duplication, as Go)', () => {
    expect(isAuditError(caught(() => parseNote(`${text}\n${peterSig.repeat(101)}`)), 'AUDIT_NOTE_MALFORMED')).toBe(true);
    expect(openNote(`${text}\n${peterSig.repeat(100)}`, [parseVerifierKey(peter)]).verified).toHaveLength(1);
  });

  it('a tab in the note is a control character (C2SP: nothing below U+0020 but newline); DEL is not', () => {
    expect(isAuditError(caught(() => parseNote(`a\tb\n\n${peterSig}`)), 'AUDIT_NOTE_MALFORMED')).toBe(true);
    expect(parseNote(`a\u007fb\n\n${peterSig}`).text).toBe('a\u007fb\n');
  });

  it('a byte order mark before the text stays part of the signed text (the signature then fails, as in Go)', () => {
    const note = `${text}\n${peterSig}`;
    expect(parseNote(`\ufeff${note}`).text).toBe(`\ufeff${text}`);
    expect(isAuditError(caught(() => openNote(new TextEncoder().encode(`\ufeff${note}`), [parseVerifierKey(peter)])), 'AUDIT_SIGNATURE_INVALID')).toBe(true);
  });

  it('a trusted key listed twice is an error only when a signature needs it (Go: ambiguous key)', () => {
    const enoch = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
    const keys = [enoch, peter, enoch].map(parseVerifierKey);
    expect(openNote(`${text}\n${peterSig}`, keys).verified).toHaveLength(1);
  });
});
