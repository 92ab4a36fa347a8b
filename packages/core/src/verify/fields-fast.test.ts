// fieldsProven (fields-fast.ts) may only ever say "proven" for a record that checkFields (the
// one statement of the §2.2 rules) passes; and on ordinary records it must actually prove them,
// or the verifier gains nothing. Both are checked on every record of the vector files and on
// random records built at every length and type boundary of §2.2.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../record/canonical.js';
import { CanonicalScanner } from './canonical-scan.js';
import { checkFields } from './fields.js';
import { fieldsProven } from './fields-fast.js';
import { prng as rng } from '../../test/support/prng.js';

const utf8 = new TextEncoder();
const scanner = new CanonicalScanner();
const VECTORS = fileURLToPath(new URL('../../test/vectors/ron-audit/', import.meta.url));

/** Every record string of every vector file under test/vectors/ron-audit. */
function vectorRecords(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.json')) {
        const v = JSON.parse(readFileSync(p, 'utf8')) as { records?: unknown };
        if (Array.isArray(v.records)) for (const r of v.records) if (typeof r === 'string') out.push(r);
      }
    }
  };
  walk(VECTORS);
  return out;
}

/** The verdicts of both on canonical bytes; null when the bytes are not canonical (the scanner refuses them first). */
function verdicts(text: string): { proven: boolean; passes: boolean } | null {
  const bytes = utf8.encode(text);
  if (!scanner.scan(bytes)) return null;
  return { proven: fieldsProven(bytes), passes: checkFields(JSON.parse(text) as Record<string, unknown>) === null };
}


// Characters of every UTF-8 length and every escape form: 1 byte, 2, 3, 4 (2 UTF-16 units), "\n", "\u0001", "\"".
const CHARS = ['a', 'é', '€', '😀', '\n', '\u0001', '"', '\\'];
const LENGTHS = [0, 1, 2, 15, 16, 31, 32, 63, 64, 65, 127, 128, 129, 255, 256, 257];

function stringOfUnits(r: () => number, units: number): string {
  let s = '';
  while (s.length < units) {
    const c = CHARS[Math.floor(r() * CHARS.length)]!;
    s += c.length === 2 && s.length + 2 > units ? 'b' : c;
  }
  return s;
}

const OTHER_TYPES: unknown[] = [null, 0, -1, 1.5, true, false, [], ['x'], {}, { a: 'b' }, [1], [null]];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** A value for a string member: usually a string near a length boundary, sometimes another type. */
function stringish(r: () => number): unknown {
  return r() < 0.85 ? stringOfUnits(r, pick(r, LENGTHS.filter((n) => n <= 257))) : pick(r, OTHER_TYPES);
}

function hexish(r: () => number, len: number): unknown {
  const x = r();
  if (x < 0.15) return '0'.repeat(len);
  if (x < 0.3) return pick(r, OTHER_TYPES);
  const n = x < 0.4 ? len + pick(r, [-1, 1]) : len;
  let s = '';
  for (let i = 0; i < n; i++) s += pick(r, x < 0.5 ? [...'0123456789abcdefABCDEFg'] : [...'0123456789abcdef']);
  return s;
}

const TIMES = ['2026-11-27T06:01:09.123Z', '2026-11-27T06:01:09Z', '2026-02-30T06:01:09.123Z', '2026-11-27T24:00:00.000Z', '2026-11-27 06:01:09.123Z', '2026-11-27T06:01:09.123+00:00', '2026-11-27T06:01:09.12Z', '2026-11-27T06:01:09.1234Z', ''];

/** Values for each member of a captured body, valid and not. */
const PART_VALUES: Record<string, readonly unknown[]> = {
  size: [0, 7, 999_999_999_999_999, 2 ** 53 - 1, 2 ** 53, -1, 1.5, 1e21, '7', null],
  digest: ['cd'.repeat(32), '0'.repeat(64), 'CD'.repeat(32), 'cd'.repeat(31), `${'cd'.repeat(32)}0`, ''],
  truncated: [true, false, 0, 'false', null],
  encoding: ['json', 'utf8', 'base64', 'JSON', 'hex', '', 1],
  content: [null, 'text', { a: [1, 2] }, ['x'], 3],
};

/** A string of a random length within [min, max] (UTF-16 units), of random characters. */
const within = (r: () => number, min: number, max: number): string => stringOfUnits(r, pick(r, [min, max, min + Math.floor(r() * (max - min + 1))]));

/** A record that keeps every §2.2 rule, with contents drawn at random within the limits. */
function validRecord(r: () => number): Record<string, unknown> {
  const rec: Record<string, unknown> = {
    v: 1,
    seq: 3,
    prev: 'ab'.repeat(32),
    id: within(r, 1, 128),
    time: '2026-11-27T06:01:09.123Z',
    action: within(r, 1, 256),
    outcome: pick(r, ['success', 'failure', 'aborted']),
    actor: { id: within(r, 1, 256), type: within(r, 1, 256) },
    annotations: {},
    attributes: {},
  };
  const actor = rec['actor'] as Record<string, unknown>;
  if (r() < 0.5) actor['name'] = within(r, 0, 256);
  if (r() < 0.5) actor['groups'] = Array.from({ length: pick(r, [0, 1, 3, 3, 3, 64]) }, (_, i) => (i < 3 ? within(r, 0, 256) : 'g'));
  const ann = rec['annotations'] as Record<string, unknown>;
  for (let i = 0, n = pick(r, [0, 1, 3, 3, 3, 3, 64]); i < n; i++) ann[`k${i}${i < 3 ? within(r, 0, 120) : ''}`] = within(r, 0, i === 0 ? 4096 : 8);
  const attrs = rec['attributes'] as Record<string, unknown>;
  for (let i = 0, n = pick(r, [0, 1, 5, 5, 5, 5, 128]); i < n; i++) attrs[`a${i}`] = pick(r, ['s', within(r, 0, 40), 0, -2.5, 1e21, 5e-324, true, false, [], ['x', within(r, 0, 9)]]);
  if (r() < 0.5) rec['target'] = { type: within(r, 1, 256), id: within(r, 1, 256), ...(r() < 0.2 ? { more: [1, { a: null }] } : {}) };
  if (r() < 0.4) rec['request_id'] = within(r, 1, 256);
  if (r() < 0.4) rec['trace_id'] = '4bf92f3577b34da6a3ce929d0e0e4736';
  if (r() < 0.4) rec['span_id'] = '00f067aa0ba902b7';
  if (r() < 0.5) {
    const part = (): Record<string, unknown> => ({ size: pick(r, [0, 7, 999_999_999_999_999]), digest: 'cd'.repeat(32), truncated: r() < 0.5, encoding: pick(r, ['json', 'utf8', 'base64']), content: pick(r, [null, 'text', { a: [1, 2] }, ['x'], 3]) });
    const body: Record<string, unknown> = {};
    if (r() < 0.8) body['request'] = part();
    if (r() < 0.5) body['response'] = part();
    if (r() < 0.1) body['other'] = pick(r, OTHER_TYPES);
    rec['body'] = body;
  }
  if (r() < 0.1) rec[pick(r, ['zz_unknown', 'a_unknown', 'body2'])] = pick(r, OTHER_TYPES);
  return rec;
}

type Obj = Record<string, unknown>;
const obj = (x: unknown): Obj | null => (x !== null && typeof x === 'object' && !Array.isArray(x) ? (x as Obj) : null);

/** One change of one member: to a value just inside or just outside its rule, another type, or gone. */
const MUTATIONS: ((rec: Obj, r: () => number) => void)[] = [
  (rec, r) => (rec['id'] = stringish(r)),
  (rec, r) => (rec['time'] = r() < 0.8 ? pick(r, TIMES) : pick(r, OTHER_TYPES)),
  (rec, r) => (rec['action'] = stringish(r)),
  (rec, r) => (rec['outcome'] = pick(r, ['success', 'failure', 'aborted', 'Success', '', 'maybe', null, 1])),
  (rec, r) => delete rec[pick(r, ['id', 'time', 'action', 'outcome', 'actor', 'annotations', 'attributes'])],
  (rec, r) => (rec[pick(r, ['actor', 'target', 'annotations', 'attributes', 'body'])] = pick(r, OTHER_TYPES)),
  (rec, r) => {
    const a = obj(rec['actor']) ?? ((rec['actor'] = { id: 'x', type: 'y' }) as Obj);
    const k = pick(r, ['id', 'type', 'name']);
    if (r() < 0.2) delete a[k];
    else a[k] = stringish(r);
  },
  (rec, r) => {
    const a = obj(rec['actor']) ?? ((rec['actor'] = { id: 'x', type: 'y' }) as Obj);
    a['groups'] = r() < 0.7 ? Array.from({ length: pick(r, [0, 64, 65]) }, (_, i) => (i === 0 && r() < 0.5 ? stringish(r) : 'g')) : pick(r, OTHER_TYPES);
  },
  (rec, r) => {
    const t: Obj = { type: stringish(r), id: r() < 0.5 ? 'x' : stringish(r) };
    if (r() < 0.3) delete t[pick(r, ['type', 'id'])];
    rec['target'] = t;
  },
  (rec, r) => {
    const n = pick(r, [1, 63, 64, 65]);
    const o: Obj = {};
    for (let i = 0; i < n; i++) o[`k${i}`] = 'v';
    if (r() < 0.5) {
      delete o['k0'];
      o[pick(r, ['', 'a'.repeat(128), 'a'.repeat(129), '😀'.repeat(64), `${'😀'.repeat(64)}a`, '\n'.repeat(128), '\n'.repeat(129)])] = 'v';
    } else if (r() < 0.5) o['k0'] = r() < 0.5 ? stringOfUnits(r, pick(r, [4095, 4096, 4097])) : pick(r, OTHER_TYPES);
    rec['annotations'] = o;
  },
  (rec, r) => {
    const n = pick(r, [1, 128, 129]);
    const o: Obj = {};
    for (let i = 0; i < n; i++) o[`a${i}`] = 1;
    o['a0'] = pick(r, ['s', 0, true, [], ['x'], null, {}, [1], ['x', null], [[]], { a: 1 }]);
    rec['attributes'] = o;
  },
  (rec, r) => (rec['request_id'] = stringish(r)),
  (rec, r) => (rec['trace_id'] = hexish(r, 32)),
  (rec, r) => (rec['span_id'] = hexish(r, 16)),
  (rec, r) => {
    const body = obj(rec['body']) ?? {};
    const part = obj(body['request']) ?? { size: 1, digest: 'cd'.repeat(32), truncated: false, encoding: 'utf8', content: null };
    const k = pick(r, ['size', 'digest', 'truncated', 'encoding', 'content']);
    if (r() < 0.2) delete part[k];
    else part[k] = r() < 0.8 ? pick(r, PART_VALUES[k]!) : pick(r, OTHER_TYPES);
    body[pick(r, ['request', 'response'])] = part;
    rec['body'] = r() < 0.05 ? pick(r, OTHER_TYPES) : body;
  },
];

/** A valid record with `mutations` random member changes (0: valid as drawn). */
function randomRecord(r: () => number, mutations: number): Obj {
  const rec = validRecord(r);
  for (let i = 0; i < mutations; i++) pick(r, MUTATIONS)(rec, r);
  return rec;
}

/** A size that is a safe integer but has more than 15 digits: the proof declines it by design. */
const hasLongSize = (text: string): boolean => /"size":\d{16,}/.test(text);

describe('fieldsProven', () => {
  it('never proves a vector record that checkFields refuses, and proves every accepted one it can', () => {
    const records = vectorRecords();
    expect(records.length).toBeGreaterThan(100);
    let proven = 0;
    let passes = 0;
    for (const text of records) {
      const v = verdicts(text);
      if (v === null) continue;
      if (v.proven) expect(v.passes, text).toBe(true);
      if (v.passes) {
        passes++;
        if (!hasLongSize(text)) expect(v.proven, text).toBe(true);
      }
      if (v.proven) proven++;
    }
    expect(passes).toBeGreaterThan(50);
    expect(proven).toBeGreaterThan(0);
  });

  it('agrees with checkFields on 10,000 random records at every length and type boundary of §2.2', () => {
    let refused = 0;
    let accepted = 0;
    for (let seed = 1; seed <= 10_000; seed++) {
      const r = rng(seed);
      const text = canonicalize(randomRecord(r, pick(r, [0, 1, 1, 2])));
      const v = verdicts(text);
      if (v === null) expect.fail(`seed ${seed}: the canonical writer's output does not scan`);
      if (v.proven && !v.passes) expect.fail(`seed ${seed}: proven but checkFields refuses ${text.slice(0, 300)}`);
      if (!v.proven && v.passes && !hasLongSize(text)) expect.fail(`seed ${seed}: checkFields passes but not proven ${text.slice(0, 300)}`);
      if (v.passes) accepted++;
      else refused++;
    }
    // Both sides of the boundary are exercised, not one.
    expect(accepted).toBeGreaterThan(1_000);
    expect(refused).toBeGreaterThan(1_000);
  }, 60_000);

  it('proves a record with strings that need escapes and characters outside the BMP at the exact length limits', () => {
    const rec = validRecord(rng(7));
    rec['id'] = '😀'.repeat(64); // 128 UTF-16 units, 256 bytes
    rec['action'] = '\n'.repeat(256); // 256 units, 512 bytes of escapes
    rec['annotations'] = { ['€'.repeat(128)]: '\u0001'.repeat(4096) };
    expect(verdicts(canonicalize(rec))).toEqual({ proven: true, passes: true });
    rec['id'] = '😀'.repeat(64) + 'a';
    expect(verdicts(canonicalize(rec))).toEqual({ proven: false, passes: false });
  });
});
