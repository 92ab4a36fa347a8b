import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { leafHash } from '../../prim/hash.js';
import { verifyExport } from '../../verify/export.js';
import { ExportWriter } from './writer.js';
import { buildRecords, listFiles, seed, signCheckpoint, T0, vkeyOf } from '../../../test/support/export-log.js';
import { cleanup, tempDir } from '../../../test/support/engine.js';

afterAll(cleanup);

const KEYS = [vkeyOf(seed(1))];
const records = buildRecords(700);
const leaves = records.map((r) => leafHash(r));

async function publish(dir: string, handOver: (w: ExportWriter) => void, size: number): Promise<void> {
  const w = await ExportWriter.open({ dir, every: 1, intervalMs: 60_000 });
  handOver(w);
  w.offerCheckpoint({ note: signCheckpoint(records, size), size, time: T0 + size });
  await w.close();
}

async function tree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of await listFiles(dir)) out.set(f, (await readFile(join(dir, f))).toString('hex'));
  return out;
}

describe('ExportWriter reuses the leaf hashes the appender computed', () => {
  it('records handed over with their leaf hashes publish byte-identical tiles to records hashed by the writer, and verify', async () => {
    const withLeaves = join(await tempDir(), 'a');
    const without = join(await tempDir(), 'b');
    // Batches as the appender hands them over, mixing batches with and without hashes.
    await publish(withLeaves, (w) => {
      w.addRecords(0, records.slice(0, 300), leaves.slice(0, 300));
      w.addRecords(300, records.slice(300, 450));
      w.addRecords(450, records.slice(450, 700), leaves.slice(450, 700));
    }, 700);
    await publish(without, (w) => w.addRecords(0, records.slice(0, 700)), 700);
    expect(await tree(withLeaves)).toEqual(await tree(without));
    expect(await verifyExport({ dir: withLeaves, keys: KEYS })).toMatchObject({ ok: true, size: 700, verified: 700 });
  });

  it('a wrong leaf hash handed over is published as given — and the verifier refuses the export (it checks tiles against the bytes)', async () => {
    const dir = join(await tempDir(), 'c');
    const bad = leaves.slice(0, 300);
    bad[17] = leafHash(records[18]!);
    await publish(dir, (w) => w.addRecords(0, records.slice(0, 300), bad), 300);
    expect((await verifyExport({ dir, keys: KEYS })).ok).toBe(false);
  });

  it.each([
    ['not an array', 'x'],
    ['one hash short', leaves.slice(0, 9)],
    ['one hash too many', leaves.slice(0, 11)],
    ['a 31-byte hash', [...leaves.slice(0, 9), new Uint8Array(31)]],
    ['a string in place of a hash', [...leaves.slice(0, 9), 'ab'.repeat(32)]],
    ['null in place of a hash', [...leaves.slice(0, 9), null]],
  ])('leaves that are %s: AUDIT_INVALID_ARGUMENT naming leaves, nothing is taken', async (_what, given) => {
    const dir = join(await tempDir(), 'd');
    const w = await ExportWriter.open({ dir, every: 1, intervalMs: 60_000 });
    expect(() => w.addRecords(0, records.slice(0, 10), given as never)).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_ARGUMENT', message: expect.stringContaining('leaves') }));
    expect(w.expectedSeq).toBe(0);
    await w.close();
  });
});
