import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAuditError } from '../errors.js';
import { nodeFileOps } from '../sinks/fs.js';
import { readExportRange, verifyExport } from './export.js';
import { seedSigner, signNoteSync } from '../sign/note.js';
import { announceEvent, buildRecords, event, ORIGIN, retireEvent, seed, signCheckpoint, STEP_MS, T0, vkeyOf, writeExport } from '../../test/support/export-log.js';
import { cleanup, tempDir } from '../../test/support/engine.js';

const V1 = vkeyOf(seed(1));
const V2 = vkeyOf(seed(2));
let base: string;
let dir: string;
let notes: Map<number, string>;
const records = buildRecords(700);

beforeAll(async () => {
  base = await tempDir('ron-verify-');
  dir = join(base, 'export');
  notes = await writeExport(dir, records, [256, 700]);
});
afterAll(cleanup);

describe('verifyExport', () => {
  it('reports what it checked', async () => {
    const progress: [number, number][] = [];
    const report = await verifyExport({ dir, keys: [V1], now: () => T0 + 700 * STEP_MS + 5000, onProgress: (d, t) => progress.push([d, t]) });
    expect(report).toEqual({
      ok: true,
      origin: ORIGIN,
      size: 700,
      verified: 700,
      inRange: 700,
      checkpointTime: T0 + 700 * STEP_MS,
      checkpointAgeMs: 5000,
      keysTrusted: [V1],
      lane: null,
      failure: null,
    });
    expect(progress.at(-1)).toEqual([700, 700]);
    expect(progress).toHaveLength(3);
  });

  it('counts the records of a time window but still verifies from seq 0', async () => {
    const report = await verifyExport({ dir, keys: [V1], since: T0 + 100 * STEP_MS, until: T0 + 199 * STEP_MS });
    expect(report).toMatchObject({ ok: true, verified: 700, inRange: 100 });
  });

  it('gives the same verdict with the pure backends', async () => {
    expect(await verifyExport({ dir, keys: [V1], crypto: 'pure' })).toMatchObject({ ok: true, verified: 700 });
  });

  it('accepts an export of an empty log (size 0)', async () => {
    const d = join(base, 'empty');
    await mkdir(d);
    await writeFile(join(d, 'checkpoint'), signCheckpoint([], 0));
    expect(await verifyExport({ dir: d, keys: [V1] })).toMatchObject({ ok: true, size: 0, verified: 0 });
  });

  it('falls back to the full tile and bundle when the partial ones are gone (as tlog clients do)', async () => {
    const d = join(base, 'fallback');
    await writeExport(d, records, [600, 700]);
    // Put back an older checkpoint whose partial tiles were deleted once the full tiles existed.
    await writeFile(join(d, 'checkpoint'), signCheckpoint(records, 600));
    expect(await verifyExport({ dir: d, keys: [V1] })).toMatchObject({ ok: true, size: 600 });
  });

  it('ignores files beyond the checkpoint (an interrupted publication) and stray files', async () => {
    const d = join(base, 'beyond');
    await writeExport(d, records, [300]);
    const full = join(base, 'beyond-full');
    await writeExport(full, records, [700]);
    // Written by a publication of size 700 that never got to its checkpoint:
    for (const f of ['tile/entries/001', 'tile/0/001', 'tile/1/000.p/2']) await cp(join(full, f), join(d, f));
    await mkdir(join(d, 'tile/entries/002.p'), { recursive: true });
    await writeFile(join(d, 'tile/entries/002.p/188'), new Uint8Array([1, 2, 3]));
    await writeFile(join(d, 'tile/0/001.p/44.tmp-123-abc'), 'junk');
    expect(await verifyExport({ dir: d, keys: [V1] })).toMatchObject({ ok: true, size: 300 });
  });

  it('refuses keys for another log before reading the records', async () => {
    const report = await verifyExport({ dir, keys: [vkeyOf(seed(1), 'other.example/log')] });
    expect(report.failure).toMatchObject({ reason: 'key_untrusted', firstSeq: 0, lastSeq: 699 });
    expect(report.verified).toBe(0);
  });

  it('throws for what is not a finding about the log: bad arguments, a missing directory', async () => {
    const bad: [string, unknown][] = [
      ['null options', null],
      ['no dir', { keys: [V1] }],
      ['empty keys', { dir, keys: [] }],
      ['keys not strings', { dir, keys: [5] }],
      ['since NaN', { dir, keys: [V1], since: Number.NaN }],
      ['until before since', { dir, keys: [V1], since: 10, until: 5 }],
      ['full not boolean', { dir, keys: [V1], full: 'yes' }],
      ['trusted not string', { dir, keys: [V1], trustedCheckpoint: 5 }],
      ['progress not function', { dir, keys: [V1], onProgress: 5 }],
      ['crypto unknown', { dir, keys: [V1], crypto: 'fast' }],
    ];
    for (const [name, opts] of bad) {
      const err = await verifyExport(opts as never).catch((e: unknown) => e);
      expect(isAuditError(err, 'AUDIT_INVALID_ARGUMENT'), name).toBe(true);
    }
    expect(isAuditError(await verifyExport({ dir, keys: ['not a key'] }).catch((e: unknown) => e), 'AUDIT_KEY_INVALID')).toBe(true);
    expect(isAuditError(await verifyExport({ dir, keys: [V1], trustedCheckpoint: 'garbage' }).catch((e: unknown) => e), 'AUDIT_INVALID_ARGUMENT')).toBe(true);
    const missing = await verifyExport({ dir: join(base, 'nope'), keys: [V1] }).catch((e: unknown) => e);
    expect((missing as { code?: string }).code).toBe('ENOENT');
  });

  it('a trusted checkpoint that is larger than the export must itself verify', async () => {
    const unsigned = signCheckpoint(buildRecords(800), 800, [seed(7)]);
    const err = await verifyExport({ dir, keys: [V1], trustedCheckpoint: unsigned }).catch((e: unknown) => e);
    expect(isAuditError(err, 'AUDIT_SIGNATURE_INVALID')).toBe(true);
    const mine = await verifyExport({ dir, keys: [V1], trustedCheckpoint: notes.get(700)! });
    expect(mine.ok).toBe(true);
  });
});

describe('verifyExport: origins a ron-audit log cannot have (format §1; issue 14 item 10)', () => {
  it.each([
    ['256 bytes', `audit.example/${'o'.repeat(242)}`],
    ['non-ASCII', 'audit.exämple/log'],
    ['a space', 'audit.example/my log'],
  ])('a checkpoint whose origin has %s is malformed_checkpoint, whatever signs it', async (_n, origin) => {
    const d = join(base, `origin-${_n.replace(/\W/g, '')}`);
    await writeExport(d, records, [300]);
    // The writer refuses such an origin (formatCheckpoint): the note is made by hand, as an attacker would.
    const note = signCheckpoint(records, 300);
    const text = note.slice(0, note.lastIndexOf('\n\n') + 1).replace(/^[^\n]*/, origin);
    await writeFile(join(d, 'checkpoint'), signNoteSync(text, [seedSigner(ORIGIN, seed(1))]));
    const r = await verifyExport({ dir: d, keys: [V1] });
    expect(r).toMatchObject({ ok: false, failure: { reason: 'malformed_checkpoint' } });
    expect(r.failure!.message).toMatch(/is not a ron-audit origin/);
  });

  it('an origin of exactly 255 bytes is accepted', async () => {
    const origin = `audit.example/${'o'.repeat(241)}`;
    expect(origin.length).toBe(255);
    const d = join(base, 'origin-255');
    await writeExport(d, buildRecords(10, { origin }), [10], { origin });
    expect(await verifyExport({ dir: d, keys: [vkeyOf(seed(1), origin)] })).toMatchObject({ ok: true, size: 10 });
  });
});

describe('verifyExport: a sealed log (format §5 "sealed"; issue 14 item 10)', () => {
  const sealed = (size: number): string => signCheckpoint(records, size, [seed(1)], { extensions: ['sealed'] });

  it('accepts a sealed export that holds exactly its records', async () => {
    const d = join(base, 'sealed-ok');
    await writeExport(d, records, [300]);
    await writeFile(join(d, 'checkpoint'), sealed(300));
    expect(await verifyExport({ dir: d, keys: [V1] })).toMatchObject({ ok: true, size: 300, verified: 300 });
    // The trusted checkpoint may be the sealed one itself.
    expect(await verifyExport({ dir: d, keys: [V1], trustedCheckpoint: sealed(300) })).toMatchObject({ ok: true, size: 300 });
  });

  it('a record beyond a sealed checkpoint in the entry bundles is after_seal, naming the records', async () => {
    const d = join(base, 'sealed-more');
    await writeExport(d, records, [300]);
    await writeFile(join(d, 'checkpoint'), sealed(300));
    const full = join(base, 'sealed-more-full');
    await writeExport(full, records, [700]);
    await cp(join(full, 'tile/entries/001'), join(d, 'tile/entries/001'));
    const r = await verifyExport({ dir: d, keys: [V1] });
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ reason: 'after_seal', firstSeq: 300, lastSeq: 511, seq: 300 });
    // The same files under an unsealed checkpoint are an interrupted publication, not a finding.
    await writeFile(join(d, 'checkpoint'), signCheckpoint(records, 300));
    expect((await verifyExport({ dir: d, keys: [V1] })).ok).toBe(true);
  });

  it('an export that grew past the sealed checkpoint an auditor saw is after_seal', async () => {
    const r = await verifyExport({ dir, keys: [V1], trustedCheckpoint: sealed(256) });
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ reason: 'after_seal', firstSeq: 256, lastSeq: 699, seq: 256 });
    // A sealed checkpoint no trusted key signed is not a finding about the log but a bad argument.
    const forged = signCheckpoint(records, 256, [seed(9)], { extensions: ['sealed'] });
    expect(isAuditError(await verifyExport({ dir, keys: [V1], trustedCheckpoint: forged }).catch((e: unknown) => e), 'AUDIT_SIGNATURE_INVALID')).toBe(true);
  });
});

describe('verifyExport: key rotation (format §12)', () => {
  const rotated = buildRecords(700, { custom: (i) => (i === 100 ? announceEvent(seed(1), seed(2)) : i === 300 ? retireEvent(seed(2), seed(1)) : undefined) });
  let rdir: string;
  beforeAll(async () => {
    rdir = join(base, 'rotated');
    // Before the announcement: seed 1; between announcement and retirement: both; after: seed 2.
    await writeExport(rdir, rotated, [100, 200, 700], { signers: (size) => (size <= 100 ? [seed(1)] : size < 300 ? [seed(1), seed(2)] : [seed(2)]) });
  });

  it('walks from the trust root to the new key', async () => {
    const report = await verifyExport({ dir: rdir, keys: [V1] });
    expect(report).toMatchObject({ ok: true, size: 700, keysTrusted: [V2] });
  });

  it('accepts a cross-signed checkpoint between announcement and retirement', async () => {
    await writeFile(join(rdir, 'checkpoint'), signCheckpoint(rotated, 200, [seed(1), seed(2)]));
    expect(await verifyExport({ dir: rdir, keys: [V1] })).toMatchObject({ ok: true, size: 200, keysTrusted: [V1, V2] });
    await writeFile(join(rdir, 'checkpoint'), signCheckpoint(rotated, 700, [seed(2)]));
  });

  it('a stolen retired key can forge a longer history (issue 14 item 3): the trust root alone cannot tell; a checkpoint saved after the rotation names the fork', async () => {
    // The thief holds seed 1, retired at seq 300 of the genuine log. The only history it can sign
    // that a verifier accepts forks before the announcement at seq 100 (a key record by seed 1
    // after it would have to be a checkpoint of the genuine log, which seed 2 signs): the genuine
    // records 0–99, then 900 forged ones with no rotation at all, signed by seed 1.
    const forgedRecords = buildRecords(1000, { first: rotated.slice(0, 100), custom: (i) => (i >= 100 ? { ...event(i), actor: { id: 'mallory', type: 'user' } } : undefined) });
    const fdir = join(base, 'forged-longer');
    await writeExport(fdir, forgedRecords, [1000], { seeds: [seed(1)] });
    // What format §12 states: with the first key alone, this verifies — nothing in it is wrong.
    expect(await verifyExport({ dir: fdir, keys: [V1] })).toMatchObject({ ok: true, size: 1000, keysTrusted: [V1] });
    // An auditor who kept any checkpoint from after the rotation (signed by seed 2) sees the fork,
    // named as one (not as an unusable argument), with the records it covers.
    const seen = signCheckpoint(rotated, 700, [seed(2)]);
    const r = await verifyExport({ dir: fdir, keys: [V1], trustedCheckpoint: seen });
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ reason: 'forked', firstSeq: 0, lastSeq: 699 });
    expect(r.failure!.message).toMatch(/retired or stolen key/);
    // And one saved before the announcement is extended by the forgery: it cannot tell (§12).
    expect((await verifyExport({ dir: fdir, keys: [V1], trustedCheckpoint: signCheckpoint(rotated, 100, [seed(1)]) })).ok).toBe(true);
  });

  it('refuses a later checkpoint signed by the retired key alone (CVE-2023-31439)', async () => {
    await writeFile(join(rdir, 'checkpoint'), signCheckpoint(rotated, 700, [seed(1)]));
    const report = await verifyExport({ dir: rdir, keys: [V1] });
    expect(report.failure).toMatchObject({ reason: 'key_untrusted', firstSeq: 0, lastSeq: 699 });
    expect(report.failure!.message).toContain(V2);
    await writeFile(join(rdir, 'checkpoint'), signCheckpoint(rotated, 700, [seed(2)]));
  });

  it('an auditor who starts from the new key alone cannot follow the history', async () => {
    const report = await verifyExport({ dir: rdir, keys: [V2] });
    expect(report.failure).toMatchObject({ reason: 'key_untrusted', seq: 100 });
  });

  it('a retirement signed by an untrusted key is refused', async () => {
    const bad = buildRecords(400, { custom: (i) => (i === 100 ? retireEvent(seed(9), seed(1)) : undefined) });
    const d = join(base, 'bad-retire');
    await writeExport(d, bad, [400]);
    expect((await verifyExport({ dir: d, keys: [V1] })).failure).toMatchObject({ reason: 'key_untrusted', seq: 100, firstSeq: 0, lastSeq: 255 });
  });
});

describe('readExportRange', () => {
  it('returns the verified records of the window, parsed', async () => {
    const { records: got, report } = await readExportRange({ dir, keys: [V1], from: T0 + 10 * STEP_MS, to: T0 + 12 * STEP_MS });
    expect(report.ok).toBe(true);
    expect(got.map((r) => r.seq)).toEqual([10, 11, 12]);
    expect(got[0]!.record).toMatchObject({ seq: 10, id: 'rec-10', v: 1 });
    expect(Buffer.from(got[1]!.bytes).equals(Buffer.from(records[11]!))).toBe(true);
  });

  it('returns nothing when the export does not verify', async () => {
    const d = join(base, 'range-bad');
    await writeExport(d, records, [700]);
    await rm(join(d, 'tile/entries/002.p/188'));
    const { records: got, report } = await readExportRange({ dir: d, keys: [V1], from: T0, to: T0 + 10 * STEP_MS, ops: nodeFileOps });
    expect(got).toEqual([]);
    expect(report.failure).toMatchObject({ reason: 'truncated', firstSeq: 512, lastSeq: 699 });
  });

  it('refuses a window that ends before it starts', async () => {
    expect(isAuditError(await readExportRange({ dir, keys: [V1], from: 10, to: 5 }).catch((e: unknown) => e), 'AUDIT_INVALID_ARGUMENT')).toBe(true);
    expect(isAuditError(await readExportRange({ dir, keys: [V1], from: Number.NaN, to: 5 }).catch((e: unknown) => e), 'AUDIT_INVALID_ARGUMENT')).toBe(true);
  });
});
