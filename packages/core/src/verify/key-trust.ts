import { AuditError } from '../errors.js';
import { fromBase64 } from '../prim/base64.js';
import { verifyEd25519 } from '../sign/ed25519.js';
import { formatVerifierKey, keyIdHex, parseVerifierKey, type VerifierKey } from '../sign/note.js';
import { ANNOTATION_BY, ANNOTATION_NEW, ANNOTATION_RETIRED, ANNOTATION_SIG, keyAnnounceMessage, keyRetireMessage, KEY_ANNOUNCE_ACTION, KEY_RETIRE_ACTION } from '../sign/rotation.js';

/**
 * The trust walk of docs/format.md §12, one step per key record, shared by the export and the
 * PostgreSQL verifiers so that both answer the open cases of §12 the same way:
 *
 * - an announcement of a key already trusted changes nothing (the engine announces again when it
 *   restarts in the middle of a rotation); one of a key retired earlier trusts it again, because
 *   a key trusted at that point vouched for it;
 * - a retirement must be signed by another trusted key than the one it retires: a key cannot end
 *   its own trust, and so the last trusted key can never be retired (the signer stays trusted);
 * - any other action under the reserved prefix `ron-audit.key.` fails: only the engine writes
 *   that prefix, a verifier cannot know what an unknown one would change in trust, so it fails
 *   closed instead of ignoring it.
 */

export const RESERVED_KEY_PREFIX = 'ron-audit.key.';

/**
 * The keys that can speak for the log `origin`: those whose name is the origin (format §6: a
 * key's name is its log's origin; a lane's is `<origin>/lane-<i>`, its own origin). A verifier
 * may be given keys of several logs at once (the lanes of a set, a key file shared by teams);
 * a signature by a key named for another log never counts for this one — for its checkpoints,
 * announcements and retirements alike — however valid it is.
 */
export function keysOfLog<K extends { readonly name: string }>(origin: string, keys: Iterable<K>): K[] {
  const out: K[] = [];
  for (const k of keys) if (k.name === origin) out.push(k);
  return out;
}

/** Whether a record's action is one the trust walk must look at. */
export function isKeyAction(action: unknown): boolean {
  return typeof action === 'string' && action.startsWith(RESERVED_KEY_PREFIX);
}

const nameOf = (k: VerifierKey): string => formatVerifierKey(k.name, k.publicKey, k.alg);

/**
 * Apply one key record to `trusted` (vkey string → key). Returns why it fails (`key_untrusted`),
 * or null once applied. `trusted` is not changed when it fails.
 */
export function applyKeyRecord(trusted: Map<string, VerifierKey>, origin: string, rec: Readonly<Record<string, unknown>>, seq: number): string | null {
  const action = rec['action'];
  if (action !== KEY_ANNOUNCE_ACTION && action !== KEY_RETIRE_ACTION) {
    return `action ${JSON.stringify(action)} is under the reserved prefix ${JSON.stringify(RESERVED_KEY_PREFIX)} but is neither ${KEY_ANNOUNCE_ACTION} nor ${KEY_RETIRE_ACTION}: a verifier cannot tell what it changes in trust`;
  }
  const announce = action === KEY_ANNOUNCE_ACTION;
  const ann = rec['annotations'];
  const a = ann !== null && typeof ann === 'object' && !Array.isArray(ann) ? (ann as Record<string, unknown>) : {};
  const subjectField = announce ? ANNOTATION_NEW : ANNOTATION_RETIRED;
  const subject = a[subjectField];
  const by = a[ANNOTATION_BY];
  const sigText = a[ANNOTATION_SIG];
  if (typeof subject !== 'string' || typeof by !== 'string' || typeof sigText !== 'string') return `needs string annotations ${subjectField}, ${ANNOTATION_BY} and ${ANNOTATION_SIG}`;
  let byKey: VerifierKey;
  let subjectKey: VerifierKey;
  try {
    byKey = parseVerifierKey(by);
    subjectKey = parseVerifierKey(subject);
  } catch (err) {
    return (err as Error).message;
  }
  if (byKey.name !== origin) return `signed by ${by}, a key of another log: only a key named for this log's origin ${JSON.stringify(origin)} can announce or retire its keys (format §6, §12)`;
  const signer = trusted.get(nameOf(byKey));
  if (signer === undefined) return `signed by ${by}, which is not trusted at seq ${seq}`;
  if (subjectKey.name !== origin) return `key ${subject} is not named for this log's origin`;
  if (!announce && nameOf(subjectKey) === nameOf(signer)) return `key ${subject} retires itself: a retirement is signed by the key that replaces it`;
  const sig = fromBase64(sigText);
  const message = announce ? keyAnnounceMessage(origin, subject) : keyRetireMessage(origin, subject);
  if (sig === null || !verifyEd25519(signer.publicKey, message, sig)) return `the signature by ${by} does not verify`;
  if (announce) trusted.set(nameOf(subjectKey), subjectKey);
  else trusted.delete(nameOf(subjectKey));
  return null;
}

/**
 * A trust list naming the same (key name, key ID) twice is ambiguous (format §6 rule 4): refused
 * up front, whether or not a note needs that key, so the answer never depends on the data.
 */
export function assertDistinctKeys(keys: readonly VerifierKey[]): void {
  const seen = new Set<string>();
  for (const k of keys) {
    const id = `${k.name}+${keyIdHex(k.keyId)}`;
    if (seen.has(id)) throw new AuditError('AUDIT_KEY_INVALID', `the trusted keys name the key ${id} (key name and key ID) more than once: a trust list must be unambiguous (docs/format.md §6 rule 4)`, { argument: 'keys', key: id });
    seen.add(id);
  }
}
