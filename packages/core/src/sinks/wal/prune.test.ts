import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keystore, tempDir } from '../../../test/helpers.js';
import { main, type CliIo } from '../../cli/ronctl.js';
import { createAudit } from '../../create-audit.js';
import type { CreateAuditOptions } from '../../api.js';
import { isAuditError } from '../../errors.js';
import { verifyExport } from '../../verify/export.js';
import { pruneWal } from './prune.js';

async function ronctl(argv: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {}, cwd };
  return { code: await main(argv, io), out, err };
}

const segs = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.wal')).sort();

describe('ronctl audit wal-prune (format §9.5)', () => {
  it('removes the segments the export holds; the engine restarts from the pruned WAL and continues the log', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    const opts: CreateAuditOptions = { ...keys, walEnabled: true, walDir: join(root, 'wal'), walSegmentBytes: 64 * 1024, exportEnabled: true, exportDir: join(root, 'export'), checkpointEvery: 1, checkpointIntervalMs: 100, origin: 'test.local/prune', env: {} };
    const audit = createAudit(opts);
    await audit.ready();
    for (let i = 0; i < 1200; i += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => audit.emitDurable({ action: 'test.write', outcome: 'success', attributes: { i: i + k } })));
    const vkey = audit.verifierKey();
    await audit.close();
    const before = segs(opts.walDir!);
    expect(before.length).toBeGreaterThan(4);

    const r = await ronctl(['audit', 'wal-prune', '--wal-dir', 'wal', '--export-dir', 'export', '--key', vkey], root);
    expect(r.code, r.err).toBe(0);
    const after = segs(opts.walDir!);
    expect(after).toEqual(before.slice(before.length - after.length));
    expect(after.length).toBe(1);
    expect(r.out).toMatch(new RegExp(`^OK: removed ${before.length - 1} segment\\(s\\)`));

    // The pruned WAL still verifies against the export from where it starts.
    const verified = await ronctl(['audit', 'verify', '--export-dir', 'export', '--wal-dir', 'wal', '--key', vkey], root);
    expect(verified.code, verified.out).toBe(0);

    const again = createAudit(opts);
    await again.ready();
    expect(again.health().log).toMatchObject({ size: 1200, checkpointSize: 1200 });
    await again.emitDurable({ action: 'test.after', outcome: 'success' });
    await again.close();
    expect(await verifyExport({ dir: opts.exportDir!, keys: [vkey] })).toMatchObject({ ok: true, size: 1201 });
    // Nothing more to prune: one segment stays.
    expect((await ronctl(['audit', 'wal-prune', '--wal-dir', 'wal', '--export-dir', 'export', '--key', vkey], root)).out).toMatch(/^OK: removed 0 segment/);
  });

  it('keeps segments the export does not hold yet, and refuses an export that does not verify (wrong-input matrix)', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    // Pruned while the host runs, with an export that publishes every 1,000 records: what it does not hold stays.
    const opts: CreateAuditOptions = { ...keys, walEnabled: true, walDir: join(root, 'wal'), walSegmentBytes: 64 * 1024, exportEnabled: true, exportDir: join(root, 'export'), checkpointEvery: 1000, checkpointIntervalMs: 86_400_000, origin: 'test.local/prune-keep', env: {} };
    const audit = createAudit(opts);
    await audit.ready();
    for (let i = 0; i < 1500; i += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => audit.emitDurable({ action: 'test.write', outcome: 'success', attributes: { i: i + k } })));
    const vkey = audit.verifierKey();
    const before = segs(opts.walDir!);
    const r = await pruneWal({ walDir: opts.walDir!, exportDir: opts.exportDir!, keys: [vkey] });
    expect(r.exportSize).toBeGreaterThanOrEqual(1000);
    expect(r.exportSize).toBeLessThan(1500);
    const kept = segs(opts.walDir!);
    expect(r.removed.length).toBeGreaterThan(0);
    expect(kept.length).toBeGreaterThan(1);
    // The first kept segment starts at or below the export's size; the one after it above it.
    expect(Number(kept[0]!.slice(0, 20))).toBeLessThanOrEqual(r.exportSize);
    expect(Number(kept[1]!.slice(0, 20))).toBeGreaterThan(r.exportSize);
    expect(before.slice(r.removed.length)).toEqual(kept);
    await audit.emitDurable({ action: 'test.after-prune', outcome: 'success' });
    await audit.close();
    const again = createAudit(opts);
    await again.ready();
    expect(again.health().log.size).toBe(1501);
    await again.close();

    const other = await keystore(join(root, 'other'));
    const o = createAudit({ ...other, origin: 'test.local/prune-keep', env: {} });
    await o.ready();
    const wrong = await ronctl(['audit', 'wal-prune', '--wal-dir', 'wal', '--export-dir', 'export', '--key', o.verifierKey()], root);
    await o.close();
    expect(wrong.code).toBe(1);
    expect(wrong.out).toMatch(/^FAIL: the export .* does not verify/);
    expect((await ronctl(['audit', 'wal-prune', '--wal-dir', 'nowhere', '--export-dir', 'export', '--key', vkey], root)).code).toBe(2);
    expect((await ronctl(['audit', 'wal-prune', '--export-dir', 'export', '--key', vkey], root)).code).toBe(2);
    for (const [bad, name] of [
      [null, 'options'],
      [{ walDir: '', exportDir: 'e', keys: [vkey] }, 'walDir'],
      [{ walDir: 'w', exportDir: 3, keys: [vkey] }, 'exportDir'],
    ] as const) {
      const err = await pruneWal(bad as never).catch((e: unknown) => e);
      expect(isAuditError(err, 'AUDIT_INVALID_ARGUMENT'), name).toBe(true);
      expect((err as Error).message).toContain(name);
    }
  });
});
