import { invalidArgument } from '../errors.js';

/**
 * Text that may be a secret key is never echoed (issue 14 item 8): an error message that quotes
 * what a user passed ends up in terminals, CI logs and log shippers. What counts as key material
 * here: a keystore key file or any JSON with a `seed` or private-key member, a PEM block, and any
 * run of base64 (standard or URL-safe) long enough to hold 32 bytes or of hex long enough to hold
 * 32 bytes — the shapes an Ed25519 seed or private key is pasted in. Verifier keys (public) have
 * such a run too; a caller that knows a text is a well-formed verifier key may show it anyway.
 */

const MARKERS = /"(seed|private|private_?key|secret|sk)"\s*:|-----BEGIN|PRIVATE KEY/i;
const PRIVATE_KEY_FILE = /"seed"\s*:|-----BEGIN|PRIVATE KEY/i;

/** Whether `text` is (part of) a private key file: a keystore key file (JSON with `seed`) or a PEM key. */
export function looksLikePrivateKeyFile(text: string): boolean {
  if (typeof text !== 'string') throw invalidArgument('text', 'a string', text);
  return PRIVATE_KEY_FILE.test(text);
}
const LONG_BASE64 = /[A-Za-z0-9+/_-]{43,}={0,2}/g;
const LONG_HEX = /[0-9a-fA-F]{64,}/;

/**
 * Whether `text` may hold key material (see above). A long run counts as base64 key material only
 * when it mixes at least two of upper case, lower case and digits, as base64 of bytes does (a
 * 43-character run of random base64 lacks two of the three with a probability far below 10⁻⁶): a
 * run of one letter or an all-lowercase name is not a key.
 */
export function looksLikeKeyMaterial(text: string): boolean {
  if (typeof text !== 'string') throw invalidArgument('text', 'a string', text);
  if (MARKERS.test(text) || LONG_HEX.test(text)) return true;
  for (const m of text.matchAll(LONG_BASE64)) {
    const run = m[0];
    if (Number(/[A-Z]/.test(run)) + Number(/[a-z]/.test(run)) + Number(/[0-9]/.test(run)) >= 2) return true;
  }
  return false;
}

/**
 * `text` as JSON for a message (cut after `max` characters), or, when it may be key material, a
 * placeholder that says so and gives only its length.
 */
export function quotedUnlessSecret(text: string, max = 80): string {
  if (typeof text !== 'string') throw invalidArgument('text', 'a string', text);
  if (!Number.isSafeInteger(max) || max < 1) throw invalidArgument('max', 'a whole number ≥ 1', max);
  if (looksLikeKeyMaterial(text)) return `<${text.length} characters not shown: they look like key material>`;
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
