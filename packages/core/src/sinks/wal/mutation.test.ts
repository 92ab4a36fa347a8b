import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keystore, tempDir } from '../../../test/helpers.js';
import { createAudit } from '../../create-audit.js';
import { parseCheckpoint } from '../../log/checkpoint.js';
import { parseNote, parseVerifierKey } from '../../sign/note.js';
import { FRAME_CHECKPOINT } from './frame.js';
import { frameSpans, runMutationMatrix, withoutLastSyncMark, type MutationBase, type MutationReport } from './mutation.js';

/**
 * The WAL mutation matrix in CI: a small real log (three commits), every byte of its last
 * LAST_FRAMES frames. `pnpm drill:wal-mutation` runs every byte of every frame and writes
 * docs/drills/wal-mutation.md (RON_AUDIT_WAL_MUTATION=full, report path in RON_AUDIT_WAL_MUTATION_REPORT).
 */
const FULL = process.env['RON_AUDIT_WAL_MUTATION'] === 'full';
const LAST_FRAMES = FULL ? Number.MAX_SAFE_INTEGER : 4;

async function writeLog(root: string): Promise<{ segment: Uint8Array; name: string; origin: string; records: Uint8Array[]; vkey: string }> {
  const keys = await keystore(root);
  const walDir = join(root, 'wal');
  const origin = 'test.local/mutation';
  const audit = createAudit({ ...keys, walEnabled: true, walDir, origin, env: {} });
  await audit.ready();
  for (const n of [4, 3, 2]) {
    await Promise.all(Array.from({ length: n }, (_, i) => audit.emitDurable({ action: 'test.write', outcome: 'success', attributes: { i, pad: 'x'.repeat(i * 7) } })));
    await audit.flush();
  }
  const snap = audit.snapshot();
  await audit.close();
  const name = '00000000000000000000.wal';
  return { segment: new Uint8Array(readFileSync(join(walDir, name))), name, origin, records: snap.records.map((r) => Uint8Array.from(r)), vkey: snap.verifierKey };
}

/** The published checkpoint an up-to-date export would hold: the newest checkpoint frame in `segment`. */
function publishedOf(segment: Uint8Array): { size: number; root: Uint8Array } {
  const cps = frameSpans(segment).filter((s) => s.type === FRAME_CHECKPOINT);
  const last = cps.at(-1)!;
  const note = new TextDecoder().decode(segment.subarray(last.offset + 5, last.end - 4));
  const cp = parseCheckpoint(parseNote(note).text);
  return { size: cp.size, root: cp.root };
}

function summary(r: MutationReport): string {
  return JSON.stringify({ counts: r.counts, byFamily: r.byFamily, refusedReasons: r.refusedReasons });
}

describe('WAL mutation matrix (format §9.2)', () => {
  const reports: Record<string, MutationReport> = {};

  it('every byte of the last frames of an acknowledged log: recovered intact or refused, never a record lost or a forged byte signed', async () => {
    const root = tempDir();
    const log = await writeLog(root);
    const base: MutationBase = {
      segment: log.segment,
      segmentName: log.name,
      origin: log.origin,
      keys: [parseVerifierKey(log.vkey)],
      records: log.records,
      acked: log.records.length,
      published: publishedOf(log.segment),
    };
    const r = await runMutationMatrix(base, { lastFrames: LAST_FRAMES, scratch: join(root, 'scratch') });
    reports['acknowledged, with export'] = r;
    expect(r.violations, summary(r)).toEqual([]);
    expect(r.counts.torn).toBe(0);
    expect(r.counts.refused).toBeGreaterThan(0);
    expect(r.counts.recovered).toBeGreaterThan(0);
    // Flipped bytes that pass their CRC again are never taken for a torn write.
    expect(r.byFamily['flip+crc']!.torn + r.byFamily['flip+crc']!.violation).toBe(0);
  }, 120_000);

  it('a last write without its sync mark (fsync unproven, never acknowledged): may be dropped as torn, everything before it recovered or refused', async () => {
    const root = tempDir();
    const log = await writeLog(root);
    const segment = withoutLastSyncMark(log.segment);
    const cps = frameSpans(segment).filter((s) => s.type === FRAME_CHECKPOINT);
    // The last commit covers the last 2 records; the export could hold only the one before it.
    const previous = segment.subarray(0, cps.at(-2)!.end);
    const base: MutationBase = {
      segment,
      segmentName: log.name,
      origin: log.origin,
      keys: [parseVerifierKey(log.vkey)],
      records: log.records,
      acked: log.records.length - 2,
      published: publishedOf(previous),
    };
    const tornByCrcRepair: unknown[] = [];
    const r = await runMutationMatrix(base, {
      lastFrames: LAST_FRAMES,
      scratch: join(root, 'scratch'),
      onCase: (c, outcome) => {
        if (c.family === 'flip+crc' && outcome === 'torn') tornByCrcRepair.push(c);
      },
    });
    reports['last write unsynced, with export'] = r;
    expect(r.violations, summary(r)).toEqual([]);
    expect(r.counts.torn).toBeGreaterThan(0);
    expect(tornByCrcRepair).toEqual([]);
  }, 120_000);

  it('without an export: truncation is the one damage a WAL cannot see on its own (counted, documented in format §9.2)', async () => {
    const root = tempDir();
    const log = await writeLog(root);
    const base: MutationBase = { segment: log.segment, segmentName: log.name, origin: log.origin, keys: [parseVerifierKey(log.vkey)], records: log.records, acked: log.records.length };
    const r = await runMutationMatrix(base, { lastFrames: LAST_FRAMES, scratch: join(root, 'scratch') });
    reports['acknowledged, no export'] = r;
    // Every violation here is a truncation or a deleted trailing frame, and none recovered altered bytes.
    for (const v of r.violations) {
      expect(['truncate', 'delete'], JSON.stringify(v)).toContain(v.case.family);
      expect(v.why).toMatch(/^dropped acknowledged records/);
    }
    for (const family of ['flip', 'flip+crc', 'duplicate', 'swap']) expect(r.byFamily[family]!.violation, family).toBe(0);
    const out = process.env['RON_AUDIT_WAL_MUTATION_REPORT'];
    if (out) writeFileSync(out, JSON.stringify({ full: FULL, lastFrames: FULL ? 'all' : LAST_FRAMES, frames: frameSpans(log.segment).length, bytes: log.segment.length, reports }, null, 2));
  }, 120_000);
});
