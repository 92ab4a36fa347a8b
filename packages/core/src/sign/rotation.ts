import { assertString } from '../errors.js';
import type { AuditEvent } from '../record/record.js';
import { toBase64 } from '../prim/base64.js';

/**
 * Key rotation records (docs/format.md §12). These functions build the exact bytes the old key
 * (announce) or the new key (retire) signs; the writer and every verifier call them.
 */
export const KEY_ANNOUNCE_ACTION = 'ron-audit.key.announce';
export const KEY_RETIRE_ACTION = 'ron-audit.key.retire';
export const ANNOTATION_NEW = 'ron-audit.key.new';
export const ANNOTATION_RETIRED = 'ron-audit.key.retired';
export const ANNOTATION_BY = 'ron-audit.key.by';
export const ANNOTATION_SIG = 'ron-audit.key.sig';
/** How many checkpoints are signed by both keys before the old one is dropped (runbook §6.4). */
export const CROSS_SIGNED_CHECKPOINTS = 2;

const utf8 = new TextEncoder();

export function keyAnnounceMessage(origin: string, newVkey: string): Uint8Array {
  assertString('origin', origin);
  assertString('newVkey', newVkey);
  return utf8.encode(`ron-audit key announce v1\n${origin}\n${newVkey}\n`);
}

export function keyRetireMessage(origin: string, retiredVkey: string): Uint8Array {
  assertString('origin', origin);
  assertString('retiredVkey', retiredVkey);
  return utf8.encode(`ron-audit key retire v1\n${origin}\n${retiredVkey}\n`);
}

const SYSTEM_ACTOR = { id: 'ron-audit', type: 'system' } as const;

/** The announcement event: NEW is announced, signed by OLD (a key the verifier already trusts). */
export function keyAnnounceEvent(origin: string, newVkey: string, oldVkey: string, signature: Uint8Array): AuditEvent {
  return {
    action: KEY_ANNOUNCE_ACTION,
    outcome: 'success',
    actor: SYSTEM_ACTOR,
    annotations: { [ANNOTATION_NEW]: newVkey, [ANNOTATION_BY]: oldVkey, [ANNOTATION_SIG]: toBase64(signature) },
    attributes: { 'ron-audit.origin': origin },
  };
}

/** The retirement event: OLD is retired, signed by NEW. */
export function keyRetireEvent(origin: string, retiredVkey: string, newVkey: string, signature: Uint8Array): AuditEvent {
  return {
    action: KEY_RETIRE_ACTION,
    outcome: 'success',
    actor: SYSTEM_ACTOR,
    annotations: { [ANNOTATION_RETIRED]: retiredVkey, [ANNOTATION_BY]: newVkey, [ANNOTATION_SIG]: toBase64(signature) },
    attributes: { 'ron-audit.origin': origin },
  };
}
