import { invalidArgument } from '../errors.js';
import { isRfc3339Millis } from '../prim/time.js';

/**
 * The member rules of docs/format.md §2.2, as a verifier checks them: one function, shared by
 * every verifier (verifyLog, verifyExport, verifyPg, verifyReceipt), written from the document
 * rather than from the writer (record/record.ts), so that the two can disagree and a test can
 * catch it. `v`, `seq` and `prev` are not checked here: they have their own reasons
 * (`bad_version`, `bad_seq`, `chain_broken`) and the chain walk checks them.
 *
 * Lengths are counted in UTF-16 code units (JavaScript's `.length`), as the writer counts them.
 * Unknown members are accepted at every level (forward compatibility, §2.2): the hash covers them.
 */

export const FIELD_FAILURE_REASONS = [
  'bad_id',
  'bad_time',
  'bad_action',
  'bad_outcome',
  'bad_actor',
  'bad_target',
  'bad_annotations',
  'bad_attributes',
  'bad_request_id',
  'bad_trace_id',
  'bad_span_id',
  'bad_body',
] as const;

export type FieldFailureReason = (typeof FIELD_FAILURE_REASONS)[number];

export interface FieldFailure {
  readonly reason: FieldFailureReason;
  readonly message: string;
}

export const OUTCOMES = ['success', 'failure', 'aborted'] as const;

/**
 * A JSON value as a verifier prints it: strings quoted, so `"1"` never reads as the number 1
 * (a bad record must not look valid in a report). Long values are cut.
 */
export function shown(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const isString = (v: unknown, min: number, max: number): v is string => typeof v === 'string' && v.length >= min && v.length <= max;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ALL_ZERO = /^0+$/;

/** The first §2.2 rule the record breaks, or null. `rec` is the parsed canonical record object. */
export function checkFields(rec: Obj): FieldFailure | null {
  if (!isObject(rec)) throw invalidArgument('record', 'a parsed record (a JSON object)', rec);
  const bad = (reason: FieldFailureReason, why: string): FieldFailure => ({ reason, message: why });
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(rec, k);

  if (!isString(rec['id'], 1, 128)) return bad('bad_id', `id is ${shown(rec['id'])}, expected a string of 1–128 characters`);
  const time = rec['time'];
  if (typeof time !== 'string' || !isRfc3339Millis(time)) return bad('bad_time', `time is ${shown(time)}, expected a UTC time with milliseconds, YYYY-MM-DDTHH:MM:SS.sssZ`);
  if (!isString(rec['action'], 1, 256)) return bad('bad_action', `action is ${shown(rec['action'])}, expected a string of 1–256 characters`);
  if (!(OUTCOMES as readonly unknown[]).includes(rec['outcome'])) return bad('bad_outcome', `outcome is ${shown(rec['outcome'])}, expected "success", "failure" or "aborted"`);

  const actor = rec['actor'];
  if (!isObject(actor)) return bad('bad_actor', `actor is ${shown(actor)}, expected an object {id, type, name?, groups?} (no actor known: {"id":"anonymous","type":"anonymous"})`);
  if (!isString(actor['id'], 1, 256)) return bad('bad_actor', `actor.id is ${shown(actor['id'])}, expected a string of 1–256 characters`);
  if (!isString(actor['type'], 1, 256)) return bad('bad_actor', `actor.type is ${shown(actor['type'])}, expected a string of 1–256 characters`);
  if (actor['name'] !== undefined && !isString(actor['name'], 0, 256)) return bad('bad_actor', `actor.name is ${shown(actor['name'])}, expected a string of at most 256 characters`);
  if (actor['groups'] !== undefined) {
    const g = actor['groups'];
    if (!Array.isArray(g) || g.length > 64 || !g.every((x) => isString(x, 0, 256))) return bad('bad_actor', `actor.groups is ${shown(g)}, expected an array of at most 64 strings of at most 256 characters`);
  }

  if (has('target')) {
    const t = rec['target'];
    // Optional members are omitted, never null (§2.2): a null target is not "no target".
    if (!isObject(t) || !isString(t['type'], 1, 256) || !isString(t['id'], 1, 256)) return bad('bad_target', `target is ${shown(t)}, expected an object {type, id} of strings of 1–256 characters (omitted when there is none, never null)`);
  }

  const ann = rec['annotations'];
  if (!isObject(ann)) return bad('bad_annotations', `annotations is ${shown(ann)}, expected an object (may be {})`);
  const annKeys = Object.keys(ann);
  if (annKeys.length > 64) return bad('bad_annotations', `annotations has ${annKeys.length} members, at most 64 allowed`);
  for (const k of annKeys) {
    if (!isString(k, 1, 128)) return bad('bad_annotations', `annotations key ${shown(k)}: expected 1–128 characters`);
    if (!isString(ann[k], 0, 4096)) return bad('bad_annotations', `annotations[${shown(k)}] is ${shown(ann[k])}, expected a string of at most 4096 characters`);
  }

  const attrs = rec['attributes'];
  if (!isObject(attrs)) return bad('bad_attributes', `attributes is ${shown(attrs)}, expected an object (may be {})`);
  const attrKeys = Object.keys(attrs);
  if (attrKeys.length > 128) return bad('bad_attributes', `attributes has ${attrKeys.length} members, at most 128 allowed`);
  for (const k of attrKeys) {
    const v = attrs[k];
    // Canonical JSON has no NaN or Infinity, so a number here is finite.
    const ok = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!ok) return bad('bad_attributes', `attributes[${shown(k)}] is ${shown(v)}, expected a string, number, boolean or array of strings`);
  }

  if (has('request_id') && !isString(rec['request_id'], 1, 256)) return bad('bad_request_id', `request_id is ${shown(rec['request_id'])}, expected a string of 1–256 characters (omitted when there is none)`);
  if (has('trace_id')) {
    const v = rec['trace_id'];
    if (typeof v !== 'string' || !HEX32.test(v) || ALL_ZERO.test(v)) return bad('bad_trace_id', `trace_id is ${shown(v)}, expected 32 lowercase hex characters, not all zero`);
  }
  if (has('span_id')) {
    const v = rec['span_id'];
    if (typeof v !== 'string' || !HEX16.test(v) || ALL_ZERO.test(v)) return bad('bad_span_id', `span_id is ${shown(v)}, expected 16 lowercase hex characters, not all zero`);
  }

  if (has('body')) {
    const body = rec['body'];
    if (!isObject(body)) return bad('bad_body', `body is ${shown(body)}, expected an object {request?, response?}`);
    for (const part of ['request', 'response'] as const) {
      if (!Object.prototype.hasOwnProperty.call(body, part)) continue;
      const why = capturedBodyProblem(body[part]);
      if (why !== null) return bad('bad_body', `body.${part}${why}`);
    }
  }
  return null;
}

function capturedBodyProblem(b: unknown): string | null {
  if (!isObject(b)) return ` is ${shown(b)}, expected a captured body {size, digest, truncated, encoding, content}`;
  const size = b['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return `.size is ${shown(size)}, expected a byte count (an integer ≥ 0)`;
  if (typeof b['digest'] !== 'string' || !HEX64.test(b['digest'])) return `.digest is ${shown(b['digest'])}, expected 64 lowercase hex characters (BLAKE3-256)`;
  if (typeof b['truncated'] !== 'boolean') return `.truncated is ${shown(b['truncated'])}, expected true or false`;
  if (b['encoding'] !== 'json' && b['encoding'] !== 'utf8' && b['encoding'] !== 'base64') return `.encoding is ${shown(b['encoding'])}, expected "json", "utf8" or "base64"`;
  if (!Object.prototype.hasOwnProperty.call(b, 'content')) return '.content is missing (null when nothing was kept)';
  return null;
}
