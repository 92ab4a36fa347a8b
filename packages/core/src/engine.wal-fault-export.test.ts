import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { keystore, tempDir } from '../test/helpers.js';
import { createAudit } from './create-audit.js';
import { nodeFileOps, withFaults, type FileOps } from './sinks/fs.js';
import { verifyExport } from './verify/export.js';

/**
 * Regression (found by drills/disk-full.mjs): with the WAL on a full disk and the export on a
 * healthy one, the export kept publishing checkpoints past the last durable record; the restart
 * after space returned then refused to start (AUDIT_ROLLBACK: the export's signed size was larger
 * than the recovered log), taking every audited route of the host down with 503s.
 */

/** node:fs with writes failing (ENOSPC) under `dir` only, while `failing()` says so. */
function fullDiskUnder(dir: string, failing: () => boolean): FileOps {
  const seam = (path: string) => withFaults(nodeFileOps, { writeError: () => (failing() && path.startsWith(dir) ? 'ENOSPC' : undefined) });
  return { ...nodeFileOps, open: (p, f, m) => seam(p).open(p, f, m), rename: (a, b) => seam(b).rename(a, b), mkdir: (p, m) => seam(p).mkdir(p, m) };
}

describe('a WAL disk that fills up while the export disk does not', () => {
  it('stops the export at the last durable record, so the restart after space returns is ready and the export verifies', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    const walDir = join(root, 'wal');
    const exportDir = join(root, 'export');
    let failing = false;
    const opts = { ...keys, walEnabled: true, walDir, exportEnabled: true, exportDir, checkpointEvery: 1, checkpointIntervalMs: 100, origin: 'test.local/wal-full', env: {} };
    const audit = createAudit({ ...opts, registry: new Registry(), fileOps: fullDiskUnder(walDir, () => failing) });
    await audit.ready();
    await Promise.all(Array.from({ length: 40 }, (_, i) => audit.emitDurable({ action: 'before', outcome: 'success', attributes: { i } })));
    await audit.flush();

    failing = true;
    for (let i = 0; i < 30; i++) audit.emit({ action: 'during', outcome: 'success', attributes: { i } });
    await audit.flush();
    expect(audit.health().sinks.wal).toBe('degraded');
    await audit.close();

    failing = false;
    const again = createAudit({ ...opts, registry: new Registry() });
    await again.ready();
    expect(again.health()).toMatchObject({ ready: true, status: 'ready' });
    expect(again.health().log.size).toBe(40);
    again.emit({ action: 'after', outcome: 'success' });
    await again.close();

    const report = await verifyExport({ dir: exportDir, keys: [again.verifierKey()] });
    expect(report).toMatchObject({ ok: true, size: 41 });
  });

  it('export disk full: audit_export_checkpoint_age_seconds keeps growing after the export failed (it froze before)', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    const exportDir = join(root, 'export');
    let failing = false;
    const registry = new Registry();
    const audit = createAudit({
      ...keys,
      walEnabled: true,
      walDir: join(root, 'wal'),
      exportEnabled: true,
      exportDir,
      checkpointEvery: 1,
      checkpointIntervalMs: 100,
      origin: 'test.local/export-full',
      env: {},
      registry,
      fileOps: fullDiskUnder(exportDir, () => failing),
    });
    await audit.ready();
    audit.emit({ action: 'before', outcome: 'success' });
    await audit.flush();
    const age = async () => (await registry.getSingleMetric('audit_export_checkpoint_age_seconds')!.get()).values[0]!.value;
    failing = true;
    audit.emit({ action: 'during', outcome: 'success' });
    await audit.flush();
    expect(audit.health().sinks.export).toBe('degraded');
    const first = await age();
    await new Promise((r) => setTimeout(r, 300));
    expect(await age()).toBeGreaterThanOrEqual(first + 0.25);
    await audit.close();
  });
});
