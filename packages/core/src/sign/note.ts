import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { AuditError, assertBytes, assertString, invalidArgument } from '../errors.js';
import { fromBase64, toBase64 } from '../prim/base64.js';
import { signEd25519, verifyEd25519, publicKeyFromSeed } from './ed25519.js';
import { ML_DSA_44_PUBLIC_BYTES, ML_DSA_44_TYPE, mldsaVerify } from './mldsa.js';

/**
 * C2SP signed-note (docs/format.md §6): parse, sign, verify, and verifier-key strings.
 * Semantics follow Go's golang.org/x/mod/sumdb/note: unknown keys are ignored, a known key whose
 * signature fails rejects the note, at least one known key must verify.
 */

export const ALG_ED25519 = 0x01;
export const MAX_SIGNATURES = 100;
const EM_DASH_PREFIX = '\u2014 ';
const utf8 = new TextEncoder();
// ignoreBOM: a leading U+FEFF stays part of the text (and of the signed bytes), as in Go's note.Open.
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface VerifierKey {
  readonly name: string;
  /** 4-byte key ID as a number (big-endian). */
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  /** Signature algorithm; absent means Ed25519 (type 0x01). */
  readonly alg?: 'ed25519' | 'ml-dsa-44';
}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** Raw signature bytes after the 4-byte key ID. */
  readonly signature: Uint8Array;
}

export interface ParsedNote {
  /** The signed text, ending with "\n". */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export interface OpenedNote extends ParsedNote {
  readonly verified: readonly NoteSignature[];
  readonly unverified: readonly NoteSignature[];
}

function malformed(message: string): AuditError {
  return new AuditError('AUDIT_NOTE_MALFORMED', `malformed note: ${message}`);
}

export function isValidKeyName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && !/[\s+]/u.test(name) && isWellFormedText(name);
}

/** C2SP signed-note: well-formed UTF-8 and no ASCII control character (below U+0020) other than newline. */
function isWellFormedText(s: string): boolean {
  return s.isWellFormed() && !/[\u0000-\u0009\u000b-\u001f]/u.test(s);
}

/** Key ID of format §6: SHA-256(name ‖ 0x0a ‖ 0x01 ‖ public key)[0:4], as a big-endian number. */
export function keyIdOf(name: string, publicKey: Uint8Array, alg: 'ed25519' | 'ml-dsa-44' = 'ed25519'): number {
  assertString('name', name);
  assertBytes('publicKey', publicKey, alg === 'ed25519' ? 32 : ML_DSA_44_PUBLIC_BYTES);
  const type = alg === 'ed25519' ? Uint8Array.of(ALG_ED25519) : ML_DSA_44_TYPE;
  const n = utf8.encode(name);
  const buf = new Uint8Array(n.length + 1 + type.length + publicKey.length);
  buf.set(n);
  buf[n.length] = 0x0a;
  buf.set(type, n.length + 1);
  buf.set(publicKey, n.length + 1 + type.length);
  const h = sha256(buf);
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
}

export function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

/** Verifier key string `<name>+<keyid hex>+<base64(0x01 ‖ pub)>`. */
export function formatVerifierKey(name: string, publicKey: Uint8Array, alg: 'ed25519' | 'ml-dsa-44' = 'ed25519'): string {
  if (!isValidKeyName(name)) throw invalidArgument('name', 'a key name without spaces or "+"', name);
  assertBytes('publicKey', publicKey, alg === 'ed25519' ? 32 : ML_DSA_44_PUBLIC_BYTES);
  const type = alg === 'ed25519' ? Uint8Array.of(ALG_ED25519) : ML_DSA_44_TYPE;
  const body = new Uint8Array(type.length + publicKey.length);
  body.set(type);
  body.set(publicKey, type.length);
  return `${name}+${keyIdHex(keyIdOf(name, publicKey, alg))}+${toBase64(body)}`;
}

export function parseVerifierKey(vkey: string): VerifierKey {
  assertString('vkey', vkey);
  const bad = (why: string): AuditError => new AuditError('AUDIT_KEY_INVALID', `invalid verifier key: ${why}`);
  // Split at the first two '+' only: the base64 key may itself contain '+'.
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw bad('expected name+keyid+key');
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  const b64 = vkey.slice(second + 1);
  if (!isValidKeyName(name)) throw bad('invalid key name');
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw bad('key ID must be 8 lowercase hex characters');
  const raw = fromBase64(b64);
  if (raw === null) throw bad('key is not valid base64');
  const keyId = parseInt(idHex, 16);
  if (raw.length === ML_DSA_44_TYPE.length + ML_DSA_44_PUBLIC_BYTES && ML_DSA_44_TYPE.every((b, i) => raw[i] === b)) {
    const publicKey = raw.subarray(ML_DSA_44_TYPE.length);
    if (keyIdOf(name, publicKey, 'ml-dsa-44') !== keyId) throw bad('key ID does not match the key');
    return { name, keyId, publicKey, alg: 'ml-dsa-44' };
  }
  if (raw.length !== 33 || raw[0] !== ALG_ED25519) throw bad('unknown algorithm or wrong key length');
  const publicKey = raw.subarray(1);
  if (keyIdOf(name, publicKey) !== keyId) throw bad('key ID does not match the key');
  return { name, keyId, publicKey };
}

/** A parsed verifier key as openNote needs it; verifyLog checks its keys with this before opening. */
export function assertVerifierKey(name: string, k: unknown): asserts k is VerifierKey {
  const o = k as Partial<VerifierKey> | null;
  if (o === null || typeof o !== 'object' || typeof o.name !== 'string' || typeof o.keyId !== 'number' || !(o.publicKey instanceof Uint8Array) || o.publicKey.length !== (o.alg === 'ml-dsa-44' ? ML_DSA_44_PUBLIC_BYTES : 32)) {
    throw invalidArgument(name, 'a verifier key {name, keyId, publicKey: 32 bytes}', k);
  }
}

/** Parse a signed note without verifying any signature. */
export function parseNote(note: string | Uint8Array): ParsedNote {
  let text: string;
  if (note instanceof Uint8Array) {
    try {
      text = utf8Strict.decode(note);
    } catch {
      throw malformed('not valid UTF-8');
    }
  } else if (typeof note === 'string') {
    text = note;
  } else {
    throw invalidArgument('note', 'string or Uint8Array', note);
  }
  if (!isWellFormedText(text)) throw malformed('control character or invalid UTF-8');
  if (!text.endsWith('\n')) throw malformed('does not end in a newline');
  const split = text.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no signature block');
  const body = text.slice(0, split + 1);
  const sigBlock = text.slice(split + 2);
  const lines = sigBlock.slice(0, -1).split('\n');
  const seen = new Set<string>();
  const signatures: NoteSignature[] = [];
  let lineCount = 0;
  for (const line of lines) {
    if (!line.startsWith(EM_DASH_PREFIX)) throw malformed('signature block has a line that is not a signature');
    const rest = line.slice(EM_DASH_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space <= 0) throw malformed('signature line has no key name');
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    if (!isValidKeyName(name)) throw malformed('invalid key name in signature line');
    const raw = fromBase64(b64);
    if (raw === null || raw.length < 5) throw malformed('signature is not base64 of key ID and signature');
    // The cap counts lines before de-duplication, as Go's note.Open does: 101 identical lines are malformed.
    if (++lineCount > MAX_SIGNATURES) throw malformed(`more than ${MAX_SIGNATURES} signatures`);
    if (seen.has(line)) continue;
    seen.add(line);
    const keyId = ((raw[0]! << 24) | (raw[1]! << 16) | (raw[2]! << 8) | raw[3]!) >>> 0;
    signatures.push({ name, keyId, signature: raw.subarray(4) });
  }
  if (signatures.length === 0) throw malformed('no signatures');
  return { text: body, signatures };
}

/**
 * Open a note with trusted verifier keys. Throws AUDIT_SIGNATURE_INVALID when a trusted key's
 * signature fails or when no trusted key signed.
 */
export function openNote(note: string | Uint8Array, keys: readonly VerifierKey[]): OpenedNote {
  if (!Array.isArray(keys)) throw invalidArgument('keys', 'an array of verifier keys', keys);
  keys.forEach((k, i) => assertVerifierKey(`keys[${i}]`, k));
  const parsed = parseNote(note);
  const message = utf8.encode(parsed.text);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  for (const sig of parsed.signatures) {
    const matching = keys.filter((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (matching.length === 0) {
      unverified.push(sig);
      continue;
    }
    // Go's note.Open refuses a trusted list that names one (name, key ID) twice once a signature needs it.
    if (matching.length > 1) throw new AuditError('AUDIT_KEY_INVALID', `ambiguous key ${sig.name}+${keyIdHex(sig.keyId)}: listed ${matching.length} times`);
    if (!matching.some((k) => (k.alg === 'ml-dsa-44' ? mldsaVerify(k.publicKey, message, sig.signature) : verifyEd25519(k.publicKey, message, sig.signature)))) {
      throw new AuditError('AUDIT_SIGNATURE_INVALID', `signature by ${sig.name}+${keyIdHex(sig.keyId)} does not verify`, {
        name: sig.name,
        keyId: keyIdHex(sig.keyId),
      });
    }
    verified.push(sig);
  }
  if (verified.length === 0) throw new AuditError('AUDIT_SIGNATURE_INVALID', 'no signature by a trusted key', { unverified: unverified.length });
  return { ...parsed, verified, unverified };
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

export function signatureLine(name: string, keyId: number, signature: Uint8Array): string {
  const raw = new Uint8Array(4 + signature.length);
  raw[0] = keyId >>> 24;
  raw[1] = (keyId >>> 16) & 0xff;
  raw[2] = (keyId >>> 8) & 0xff;
  raw[3] = keyId & 0xff;
  raw.set(signature, 4);
  return `${EM_DASH_PREFIX}${name} ${toBase64(raw)}\n`;
}

/** Sign `text` (which must end with "\n") with each signer; returns the whole note. */
export async function signNote(text: string, signers: readonly NoteSigner[]): Promise<string> {
  assertString('text', text);
  if (!text.endsWith('\n') || text.includes('\n\n') || !isWellFormedText(text)) {
    throw invalidArgument('text', 'note text of non-empty lines, each ending in "\\n"', text);
  }
  const message = utf8.encode(text);
  let out = `${text}\n`;
  for (const s of signers) out += signatureLine(s.name, s.keyId, await s.sign(message));
  return out;
}

/** Synchronous variant for signers that are not remote. */
export function signNoteSync(text: string, signers: readonly { name: string; keyId: number; sign(m: Uint8Array): Uint8Array }[]): string {
  if (!text.endsWith('\n') || text.includes('\n\n') || !isWellFormedText(text)) {
    throw invalidArgument('text', 'note text of non-empty lines, each ending in "\\n"', text);
  }
  const message = utf8.encode(text);
  let out = `${text}\n`;
  for (const s of signers) out += signatureLine(s.name, s.keyId, s.sign(message));
  return out;
}

/** A NoteSigner from a raw 32-byte Ed25519 seed (the local keystore's form). */
export function seedSigner(name: string, seed: Uint8Array): NoteSigner & { publicKey: Uint8Array; sign(m: Uint8Array): Uint8Array } {
  if (!isValidKeyName(name)) throw invalidArgument('name', 'a key name without spaces or "+"', name);
  const publicKey = publicKeyFromSeed(seed);
  return { name, keyId: keyIdOf(name, publicKey), publicKey, sign: (m) => signEd25519(seed, m) };
}

export { bytesToHex };
