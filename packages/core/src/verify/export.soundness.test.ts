// The verifier soundness suite: every tamper case of test/vectors/export-tamper/cases.json, applied
// to a freshly generated export, must be reported with its reason and range; and seeded random
// byte flips anywhere in an export must all be detected.
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextLink as recordHash } from '../log/chain.js';
import { pureBackend, setHashBackend } from '../prim/hash.js';
import { createFastBackend } from '../prim/hash-fast.js';
import { toHex } from '../prim/hex.js';
import { decodeBundle, encodeBundle } from '../log/tiles.js';
import { prepareEvent, recordBytes } from '../record/record.js';
import { createRedactor } from '../record/redact.js';
import { fromBase64, toBase64 } from '../prim/base64.js';
import { pureEd25519, setEd25519Backend } from '../sign/ed25519.js';
import { nativeEd25519 } from '../sign/ed25519-native.js';
import { seedSigner, signNoteSync } from '../sign/note.js';
import { verifyExport } from './export.js';
import { announceEvent, buildRecords, event, listFiles, ORIGIN, retireEvent, seed, vkeyOf, writeExport } from '../../test/support/export-log.js';
import { cleanup, tempDir } from '../../test/support/engine.js';
import { prng } from '../../test/support/prng.js';

interface Edit {
  op: string;
  file?: string;
  offset?: number;
  xor?: number;
  seq?: number;
  field?: string;
  edit?: string;
  index?: number;
  drop?: number | 'lastEntry';
  use?: number;
  how?: string;
  seeds?: number[];
  text?: string;
  timeLine?: string;
  append?: string[];
  /** For resign: the key name of each seed (default the log's origin). */
  names?: string[];
}

interface Case {
  name: string;
  base?: string;
  full?: boolean;
  trusted?: number | string;
  /** Keys of other logs the verifier is also given (format §6: they must not count for this one). */
  alsoTrust?: { origin: string; seed: number }[];
  tamper: Edit[];
  expect: { ok?: boolean; size?: number; reason?: string; firstSeq?: number | null; lastSeq?: number | null; seq?: number | null };
}

const vectors = JSON.parse(await readFile(new URL('../../test/vectors/export-tamper/cases.json', import.meta.url), 'utf8')) as { cases: Case[] };
const PUBLISH = [300, 520, 550, 600];
const KEYS = [vkeyOf(seed(1))];

interface Base {
  dir: string;
  records: Uint8Array[];
  notes: Map<number, string>;
}

const bases = new Map<string, Base>();
let work: string;

async function makeBase(name: string, records: Uint8Array[]): Promise<void> {
  const dir = join(work, `base-${name}`);
  bases.set(name, { dir, records, notes: await writeExport(dir, records, PUBLISH) });
}

beforeAll(async () => {
  work = await tempDir('ron-tamper-');
  await makeBase('default', buildRecords(600));
  await makeBase('other', buildRecords(600, { custom: (i) => ({ ...event(i), actor: { id: 'mallory', type: 'user' } }) }));
  await makeBase('forged-announce', buildRecords(600, { custom: (i) => (i === 100 ? announceEvent(seed(9), seed(2)) : undefined) }));
  await makeBase('announce-bad-sig', buildRecords(600, { custom: (i) => (i === 100 ? announceEvent(seed(1), seed(2), { signWith: seed(9) }) : undefined) }));
  await makeBase('rotation-retired-signs', buildRecords(600, { custom: (i) => (i === 100 ? announceEvent(seed(1), seed(2)) : i === 120 ? retireEvent(seed(2), seed(1)) : undefined) }));
  // Format §12's open cases (issue 13 item 9).
  await makeBase('retire-self-last', buildRecords(600, { custom: (i) => (i === 100 ? retireEvent(seed(1), seed(1)) : undefined) }));
  await makeBase('retire-self', buildRecords(600, { custom: (i) => (i === 100 ? announceEvent(seed(1), seed(2)) : i === 110 ? retireEvent(seed(2), seed(2)) : undefined) }));
  await makeBase('unknown-key-action', buildRecords(600, { custom: (i) => (i === 100 ? { ...retireEvent(seed(1), seed(2)), action: 'ron-audit.key.revoke' } : undefined) }));
  await makeBase('reannounce-trusted', buildRecords(600, { custom: (i) => (i === 100 || i === 110 ? announceEvent(seed(1), seed(2)) : undefined) }));
  await makeBase('announce-by-other-log', buildRecords(600, { custom: (i) => (i === 100 ? announceEvent(seed(9), seed(2), { byOrigin: `${ORIGIN}/lane-0` }) : undefined) }));
  await makeBase('reannounce-retired', buildRecords(600, { custom: (i) => (i === 100 ? announceEvent(seed(1), seed(2)) : i === 120 ? retireEvent(seed(2), seed(1)) : i === 130 ? announceEvent(seed(2), seed(1)) : undefined) }));
});
afterAll(cleanup);

const enc = new TextEncoder();
const NOW = Date.parse('2026-11-28T00:00:00.000Z');

function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

async function editBundleOf(dir: string, seq: number, fn: (entries: Uint8Array[], i: number) => void): Promise<void> {
  const file = join(dir, 'tile/entries', seq >= 512 ? '002.p/88' : String(Math.floor(seq / 256)).padStart(3, '0'));
  const entries = decodeBundle(new Uint8Array(await readFile(file)))!;
  fn(entries, seq % 256);
  await writeFile(file, encodeBundle(entries));
}

async function apply(dir: string, base: Base, e: Edit): Promise<void> {
  const path = (f: string): string => join(dir, f);
  switch (e.op) {
    case 'flip': {
      const bytes = await readFile(path(e.file!));
      bytes[e.offset!]! ^= e.xor!;
      await writeFile(path(e.file!), bytes);
      return;
    }
    case 'flipInRecord':
      return editBundleOf(dir, e.seq!, (entries, i) => {
        const r = entries[i]!.slice();
        const at = e.field === '{' ? 0 : indexOfBytes(r, enc.encode(`"${e.field}":"`)) + e.field!.length + 4;
        r[at]! ^= 1;
        entries[i] = r;
      });
    case 'rewriteRecord':
      return editBundleOf(dir, e.seq!, (entries, i) => {
        const text = new TextDecoder().decode(entries[i]);
        if (e.how === 'space') entries[i] = enc.encode(`{ ${text.slice(1)}`);
        else {
          const obj = JSON.parse(text) as Record<string, unknown>;
          entries[i] = enc.encode(JSON.stringify(Object.fromEntries(Object.entries(obj).reverse())));
        }
      });
    case 'entries': {
      const file = path(e.file!);
      const entries = decodeBundle(new Uint8Array(await readFile(file)))!;
      const i = e.index!;
      if (e.edit === 'delete') entries.splice(i, 1);
      else if (e.edit === 'duplicate') entries.splice(i + 1, 0, entries[i]!);
      else if (e.edit === 'swap') [entries[i], entries[i + 1]] = [entries[i + 1]!, entries[i]!];
      else if (e.edit === 'insertForged') {
        const seq = 256 + i;
        const forged = recordBytes(prepareEvent(event(9999), createRedactor(undefined), () => 'forged', Date.now()), seq, toHex(recordHash(base.records[seq - 1]!)));
        entries.splice(i, 0, forged);
      }
      await writeFile(file, encodeBundle(entries));
      return;
    }
    case 'remove':
      return rm(path(e.file!));
    case 'truncate': {
      const bytes = new Uint8Array(await readFile(path(e.file!)));
      const entries = decodeBundle(bytes)!;
      const drop = e.drop === 'lastEntry' ? entries[entries.length - 1]!.length + 2 : e.drop!;
      await writeFile(path(e.file!), bytes.subarray(0, bytes.length - drop));
      return;
    }
    case 'checkpoint':
      return writeFile(path('checkpoint'), base.notes.get(e.use!)!);
    case 'splice':
      return writeFile(path(e.file!), await readFile(join(bases.get('other')!.dir, e.file!)));
    case 'resign': {
      // Optionally with the time line replaced or lines appended: signed text a verifier must still judge.
      const note = await readFile(path('checkpoint'), 'utf8');
      let text = note.slice(0, note.lastIndexOf('\n\n') + 1);
      if (e.timeLine !== undefined) text = text.replace(/^time .*$/m, e.timeLine);
      for (const line of e.append ?? []) text += `${line}\n`;
      return writeFile(
        path('checkpoint'),
        signNoteSync(
          text,
          e.seeds!.map((s, i) => seedSigner(e.names?.[i] ?? ORIGIN, seed(s))),
        ),
      );
    }
    case 'corruptSignature': {
      const note = await readFile(path('checkpoint'), 'utf8');
      const cut = note.lastIndexOf(' ');
      const sig = fromBase64(note.slice(cut + 1, -1))!;
      sig[sig.length - 1]! ^= 1;
      return writeFile(path('checkpoint'), `${note.slice(0, cut + 1)}${toBase64(sig)}\n`);
    }
    case 'write':
      return writeFile(path(e.file!), e.text!);
    default:
      throw new Error(`unknown tamper op ${e.op}`);
  }
}

describe('export verifier: tamper vectors', () => {
  it('the untouched bases verify (the failures below come from the tamper, not the fixture)', async () => {
    expect(await verifyExport({ dir: bases.get('default')!.dir, keys: KEYS })).toMatchObject({ ok: true, size: 600, verified: 600 });
    expect(await verifyExport({ dir: bases.get('other')!.dir, keys: KEYS })).toMatchObject({ ok: true, size: 600 });
  });

  it.each(vectors.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const base = bases.get(c.base ?? 'default')!;
    const dir = join(work, `case-${c.name}`);
    await cp(base.dir, dir, { recursive: true });
    for (const e of c.tamper) await apply(dir, base, e);
    let trustedCheckpoint: string | undefined;
    if (typeof c.trusted === 'number') trustedCheckpoint = base.notes.get(c.trusted);
    else if (typeof c.trusted === 'string') {
      const [from, size] = c.trusted.split(':');
      trustedCheckpoint = bases.get(from!)!.notes.get(Number(size));
    }
    const keys = [...KEYS, ...(c.alsoTrust ?? []).map((k) => vkeyOf(seed(k.seed), k.origin))];
    const opts = { dir, keys, now: () => NOW, ...(trustedCheckpoint ? { trustedCheckpoint } : {}), ...(c.full === false ? { full: false } : {}) };
    const report = await verifyExport({ ...opts, workers: 0 });
    // Bundle workers never change a report: the full bundles 0 and 1 go to two workers.
    expect(await verifyExport({ ...opts, workers: 2 })).toEqual(report);
    if (c.expect.ok) {
      expect(report.failure).toBeNull();
      expect(report.size).toBe(c.expect.size);
    } else {
      expect(report.ok).toBe(false);
      const f = report.failure!;
      expect({ reason: f.reason, firstSeq: f.firstSeq, lastSeq: f.lastSeq, seq: f.seq }, f.message).toEqual({
        reason: c.expect.reason,
        firstSeq: c.expect.firstSeq,
        lastSeq: c.expect.lastSeq,
        seq: c.expect.seq,
      });
      if (['chain_broken', 'bad_seq', 'key_untrusted'].includes(f.reason) && f.seq !== null) expect(f.time).toMatch(/^2026-11-27T/);
    }
    await rm(dir, { recursive: true });
  });
});


describe('export verifier: random byte flips', () => {
  // The fast backends compute the same bytes (their vector tests prove it); they keep 300 full verifications quick.
  beforeAll(async () => {
    setHashBackend(await createFastBackend());
    setEd25519Backend(nativeEd25519);
  });
  afterAll(() => {
    setHashBackend(pureBackend);
    setEd25519Backend(pureEd25519);
  });

  // Every byte of a clean export is covered by a check: the checkpoint by its signature, entry
  // bundles by the chain and the tree, every tile (older partial ones included) by comparison with
  // the recomputed tree. Bytes no check covers would exist only in files beyond the checkpoint
  // (a publication interrupted before its checkpoint), and a clean export has none. So the
  // required detection rate is 100%, and the suite asserts the export has no such file.
  it('detects every one of 300 seeded single-byte flips, whichever file it lands in', async () => {
    const base = bases.get('default')!;
    const dir = join(work, 'fuzz');
    await cp(base.dir, dir, { recursive: true });
    const files = await listFiles(dir);
    expect(files).toEqual([
      'checkpoint',
      'tile/0/000',
      'tile/0/001',
      'tile/0/002.p/38',
      'tile/0/002.p/8',
      'tile/0/002.p/88',
      'tile/1/000.p/1',
      'tile/1/000.p/2',
      'tile/entries/000',
      'tile/entries/001',
      'tile/entries/002.p/38',
      'tile/entries/002.p/8',
      'tile/entries/002.p/88',
    ]);
    const contents = new Map<string, Buffer>();
    for (const f of files) contents.set(f, await readFile(join(dir, f)));
    const rand = prng(0x5eed);
    const undetected: string[] = [];
    const perFile = new Map<string, number>();
    for (let trial = 0; trial < 300; trial++) {
      // Pick the file first, so that small files (checkpoint, partial tiles) are hit as often as bundles.
      const f = files[Math.floor(rand() * files.length)]!;
      const original = contents.get(f)!;
      const offset = Math.floor(rand() * original.length);
      const xor = 1 + Math.floor(rand() * 255);
      const flipped = Buffer.from(original);
      flipped[offset]! ^= xor;
      await writeFile(join(dir, f), flipped);
      const report = await verifyExport({ dir, keys: KEYS, now: () => NOW, workers: 0 });
      if (report.ok) undetected.push(`${f}@${offset}^${xor}`);
      // Every tenth trial, with bundle workers too: the same report, byte for byte.
      if (trial % 10 === 0) expect(await verifyExport({ dir, keys: KEYS, now: () => NOW, workers: 2 }), `${f}@${offset}^${xor}`).toEqual(report);
      perFile.set(f, (perFile.get(f) ?? 0) + 1);
      await writeFile(join(dir, f), original);
    }
    expect(undetected).toEqual([]);
    expect(perFile.size).toBe(files.length);
    expect((await verifyExport({ dir, keys: KEYS })).ok).toBe(true);
  }, 60_000);
});
