// The member rules of format §2.2 (test/vectors/ron-audit/tamper/field-*.json and accepted/*.json,
// written by make-vectors.mjs without the engine): every verifier that reads records — verifyLog,
// verifyExport, ronctl audit verify and verifyReceipt — gives the same verdict, with the reason
// named after the broken rule, and prints the offending value so that a string never reads as a
// number.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportWriter } from '../sinks/export/writer.js';
import { main } from '../cli/ronctl.js';
import { FIELD_FAILURE_REASONS } from './fields.js';
import { verifyExport } from './export.js';
import { proveFromExport, verifyReceipt } from './receipt.js';
import { verifyLog } from './verify.js';
import { cleanup, tempDir } from '../../test/support/engine.js';

interface Vector {
  name: string;
  origin: string;
  keys: string[];
  checkpoint: string;
  records: string[];
  expected: { ok: false; failure: { reason: string; seq: number } } | { ok: true; verified: number };
}

const RA = new URL('../../test/vectors/ron-audit/', import.meta.url);
const load = (sub: string, filter: (f: string) => boolean): Vector[] =>
  readdirSync(new URL(sub, RA))
    .filter((f) => f.endsWith('.json') && filter(f))
    .sort()
    .map((f) => JSON.parse(readFileSync(new URL(`${sub}${f}`, RA), 'utf8')) as Vector);
const fieldCases = load('tamper/', (f) => f.startsWith('field-'));
const accepted = load('accepted/', () => true);
const utf8 = new TextEncoder();

let work: string;
const dirs = new Map<string, string>();

beforeAll(async () => {
  work = await tempDir('ron-fields-');
  for (const v of [...fieldCases, ...accepted]) {
    const dir = join(work, v.name);
    const w = await ExportWriter.open({ dir, every: 1_000_000, intervalMs: 3_600_000 });
    w.addRecords(0, v.records.map((r) => utf8.encode(r)));
    w.offerCheckpoint({ note: v.checkpoint, size: v.records.length, time: Date.parse('2026-11-27T06:01:09.000Z') });
    await w.flush();
    await w.close();
    dirs.set(v.name, dir);
  }
});
afterAll(cleanup);

async function ronctl(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {}, cwd: work });
  return { code, out, err };
}

describe('format §2.2: every MUST has a vector and a reason', () => {
  it('the field vectors cover every field failure reason, and each has its own test case', () => {
    const reasons = new Set(fieldCases.map((v) => (v.expected as { failure: { reason: string } }).failure.reason));
    for (const r of FIELD_FAILURE_REASONS) expect([...reasons], `no vector for ${r}`).toContain(r);
    // The cases issue 13 item 9 found passing: now each has a vector by name.
    expect(fieldCases.map((v) => v.name)).toEqual(expect.arrayContaining(['field-outcome-maybe', 'field-time-without-milliseconds', 'field-actor-missing', 'field-target-null', 'field-version-string']));
  });
});

describe.each(fieldCases.map((v) => [v.name, v] as const))('%s', (_name, v) => {
  const want = (v.expected as { failure: { reason: string; seq: number } }).failure;

  it(`verifyLog → ${want.reason} at ${want.seq}`, () => {
    const r = verifyLog({ origin: v.origin, records: v.records.map((x) => utf8.encode(x)), checkpoint: v.checkpoint, keys: v.keys });
    expect({ ok: r.ok, reason: r.failure?.reason, seq: r.failure?.seq }).toEqual({ ok: false, ...want });
  });

  it(`verifyExport → ${want.reason} at ${want.seq}`, async () => {
    const r = await verifyExport({ dir: dirs.get(v.name)!, keys: v.keys });
    expect({ ok: r.ok, reason: r.failure?.reason, seq: r.failure?.seq }).toEqual({ ok: false, ...want });
    // Nothing is trusted past the bad record: it is not counted as verified.
    expect(r.verified).toBe(want.seq);
  });

  it(`ronctl audit verify exits 1 naming ${want.reason}`, async () => {
    const r = await ronctl(['audit', 'verify', '--export-dir', dirs.get(v.name)!, '--key', v.keys[0]!]);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(new RegExp(`^FAIL: ${want.reason}: record ${want.seq}`, 'm'));
    expect(r.out).toContain(`record: seq ${want.seq}`);
  });

  it(`a receipt for record ${want.seq} is refused with ${want.reason}`, async () => {
    // The record is genuinely in the signed tree: only the member rule can refuse it.
    const receipt = await proveFromExport({ dir: dirs.get(v.name)!, seq: want.seq, keys: v.keys });
    const r = verifyReceipt(receipt, v.keys);
    expect({ ok: r.ok, reason: r.failure?.reason }).toEqual({ ok: false, reason: want.reason });
  });
});

describe('ronctl prints values so that a bad record does not look valid', () => {
  it('"v":"1" is reported as the string "1", not as version 1', async () => {
    const r = await ronctl(['audit', 'verify', '--export-dir', dirs.get('field-version-string')!, '--key', fieldCases[0]!.keys[0]!]);
    expect(r.out).toContain('FAIL: bad_version: record 2: format version "1", expected the number 1');
  });

  it('"outcome":"maybe" and "target":null are shown as JSON values', async () => {
    const keys = fieldCases[0]!.keys;
    expect((await ronctl(['audit', 'verify', '--export-dir', dirs.get('field-outcome-maybe')!, '--key', keys[0]!])).out).toContain('outcome is "maybe", expected "success", "failure" or "aborted"');
    expect((await ronctl(['audit', 'verify', '--export-dir', dirs.get('field-target-null')!, '--key', keys[0]!])).out).toContain('target is null,');
    expect((await ronctl(['audit', 'verify', '--export-dir', dirs.get('field-actor-missing')!, '--key', keys[0]!])).out).toContain('actor is missing,');
  });
});

describe.each(accepted.map((v) => [v.name, v] as const))('accepted: %s', (_name, v) => {
  it('verifyLog, verifyExport and ronctl accept it', async () => {
    expect(verifyLog({ origin: v.origin, records: v.records.map((x) => utf8.encode(x)), checkpoint: v.checkpoint, keys: v.keys })).toMatchObject({ ok: true, verified: v.records.length });
    expect(await verifyExport({ dir: dirs.get(v.name)!, keys: v.keys })).toMatchObject({ ok: true, verified: v.records.length });
    const r = await ronctl(['audit', 'verify', '--export-dir', dirs.get(v.name)!, '--key', v.keys[0]!]);
    expect(r.code, r.out + r.err).toBe(0);
  });
});
