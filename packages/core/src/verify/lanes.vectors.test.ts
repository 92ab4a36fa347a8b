// A laned export verified as a set: every case of test/vectors/lane-set/cases.json, applied to a
// freshly written base, must be reported by verifyLaneSet and by `ronctl audit verify` with the
// same verdict (format §1 "Lane sets", §5 `lane`). Before the `lane` line, a deleted lane-1/ and
// a swapped lane-0/ and lane-1/ both verified OK.
import { cp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCheckpoint, laneExtension } from '../log/checkpoint.js';
import { seedSigner, signNoteSync } from '../sign/note.js';
import { ExportWriter } from '../sinks/export/writer.js';
import { main } from '../cli/ronctl.js';
import { verifyLaneSet } from './lanes.js';
import { buildRecords, rootOfRecords, seed, T0, vkeyOf } from '../../test/support/export-log.js';
import { cleanup, tempDir } from '../../test/support/engine.js';

interface Edit {
  op: 'remove' | 'swap' | 'rename' | 'copy' | 'replace' | 'flipTop';
  lane?: number;
  a?: number;
  b?: number;
  from?: number | string;
  to?: number;
  fromLane?: number;
  file?: string;
  offset?: number;
}
interface Case {
  name: string;
  base: string;
  tamper: Edit[];
  expect: { ok?: boolean; count?: number | null; reason?: string; lane?: string; top?: boolean };
}

const vectors = JSON.parse(await readFile(new URL('../../test/vectors/lane-set/cases.json', import.meta.url), 'utf8')) as { cases: Case[] };
const SET1 = 'audit.test.example/lanes/1';
const SET2 = 'audit.test.example/lanes/2';
const MIN = 60_000;
const AT = { t10: T0 + 10 * MIN, t20: T0 + 20 * MIN, t30: T0 + 30 * MIN };
const KEYS = [SET1, SET2].flatMap((b) => Array.from({ length: 5 }, (_, i) => vkeyOf(seed(1), `${b}/lane-${i}`)));

let work: string;
let keyFile: string;

/** One export of `origin` with `n` records, its checkpoint carrying `extensions`, as a lane writes it. */
async function writeLog(dir: string, origin: string, n: number, time: number, extensions: readonly string[]): Promise<void> {
  const records = buildRecords(n, { origin });
  const text = formatCheckpoint({ origin, size: n, root: rootOfRecords(records), time, extensions });
  const note = signNoteSync(text, [seedSigner(origin, seed(1))]);
  const w = await ExportWriter.open({ dir, every: 1_000_000, intervalMs: 3_600_000 });
  w.addRecords(0, records);
  w.offerCheckpoint({ note, size: n, time });
  await w.flush();
  await w.close();
}

/** Lane i of a set: [count stated (null: no lane line), time]. */
async function writeSet(dir: string, base: string, lanes: readonly [number | null, number][]): Promise<void> {
  for (const [i, [count, time]] of lanes.entries()) await writeLog(join(dir, `lane-${i}`), `${base}/lane-${i}`, 20 + i, time, count === null ? [] : [laneExtension(i, count)]);
}

beforeAll(async () => {
  work = await tempDir('ron-lanes-');
  keyFile = join(work, 'keys.txt');
  await writeFile(keyFile, `${KEYS.join('\n')}\n${vkeyOf(seed(1), SET1)}\n`);
  const b = (name: string) => join(work, 'base', name);
  await writeSet(b('set3'), SET1, [[3, AT.t10], [3, AT.t10], [3, AT.t10]]);
  await writeSet(b('other3'), SET2, [[3, AT.t10], [3, AT.t10], [3, AT.t10]]);
  await writeSet(b('legacy3'), SET1, [[null, AT.t10], [null, AT.t10], [null, AT.t10]]);
  await writeSet(b('grown'), SET1, [[2, AT.t10], [2, AT.t10], [3, AT.t20]]);
  await writeSet(b('shrunk'), SET1, [[2, AT.t30], [2, AT.t30], [3, AT.t20]]);
  await writeSet(b('top-and-lanes'), SET1, [[3, AT.t10], [3, AT.t10], [3, AT.t10]]);
  await writeLog(b('top-and-lanes'), SET1, 30, AT.t10, []);
});
afterAll(cleanup);

async function apply(dir: string, edits: readonly Edit[]): Promise<void> {
  const lane = (i: number) => join(dir, `lane-${i}`);
  for (const e of edits) {
    if (e.op === 'remove') await rm(lane(e.lane!), { recursive: true });
    else if (e.op === 'swap') {
      await rename(lane(e.a!), join(dir, 'swap'));
      await rename(lane(e.b!), lane(e.a!));
      await rename(join(dir, 'swap'), lane(e.b!));
    } else if (e.op === 'rename') await rename(lane(e.from as number), lane(e.to!));
    else if (e.op === 'copy') await cp(lane(e.from as number), lane(e.to!), { recursive: true });
    else if (e.op === 'replace') {
      await rm(lane(e.lane!), { recursive: true, force: true });
      await cp(join(work, 'base', e.from as string, `lane-${e.fromLane ?? e.lane!}`), lane(e.lane!), { recursive: true });
    } else if (e.op === 'flipTop') {
      const file = join(dir, e.file!);
      const bytes = await readFile(file);
      bytes[e.offset!] ^= 0x01;
      await writeFile(file, bytes);
    }
  }
}

async function ronctl(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {}, cwd: work });
  return { code, out, err };
}

describe('lane-set vectors', () => {
  it('cover a deleted, an added, a swapped lane and a lane of another set', () => {
    const reasons = new Set(vectors.cases.map((c) => c.expect.reason));
    for (const r of ['lane_missing', 'lane_extra', 'lane_misplaced', 'lane_set_mismatch']) expect([...reasons]).toContain(r);
  });

  for (const c of vectors.cases) {
    it(`${c.name}: ${c.expect.reason ?? (c.expect.ok ? 'ok' : 'fails')}`, async () => {
      const dir = join(work, 'case', c.name);
      await cp(join(work, 'base', c.base), dir, { recursive: true });
      await apply(dir, c.tamper);

      if (!c.expect.top) {
        const r = await verifyLaneSet({ dir, keys: KEYS });
        expect(r.lanes.every((l) => l.report.ok), JSON.stringify(r.lanes.map((l) => l.report.failure))).toBe(true);
        expect({ ok: r.ok, reason: r.set.failure?.reason, lane: r.set.failure?.lane }).toEqual({ ok: c.expect.reason === undefined, reason: c.expect.reason, lane: c.expect.lane });
        if (c.expect.count !== undefined) expect(r.set.count).toBe(c.expect.count);
      }

      const cli = await ronctl(['audit', 'verify', '--export-dir', dir, '--key-file', keyFile]);
      const ok = c.expect.reason === undefined && c.expect.ok !== false;
      expect(cli.code, cli.out + cli.err).toBe(ok ? 0 : 1);
      if (c.expect.reason !== undefined) expect(cli.out).toMatch(new RegExp(`^FAIL: ${c.expect.reason}: ${c.expect.lane}/`, 'm'));
      if (c.expect.top) expect(cli.out).toMatch(ok ? /^top-level: OK: 30 records verified/m : /^top-level: FAIL: /m);
      if (ok) expect(cli.out.trim().split('\n').at(-1)).toMatch(/^OK: \d+ lanes/);
      if (c.expect.count === null) expect(cli.out).toContain('a deleted or added lane cannot be detected');

      const json = JSON.parse((await ronctl(['audit', 'verify', '--export-dir', dir, '--key-file', keyFile, '--json'])).out) as { ok: boolean; set: { count: number | null; failure: { reason: string } | null }; top?: { ok: boolean } };
      expect(json.ok).toBe(ok);
      expect(json.set.failure?.reason).toBe(c.expect.reason);
      if (c.expect.top) expect(json.top?.ok).toBe(c.expect.ok !== false);
    });
  }
});
