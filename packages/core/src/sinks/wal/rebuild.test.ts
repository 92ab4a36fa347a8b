import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keystore, tempDir } from '../../../test/helpers.js';
import { main, type CliIo } from '../../cli/ronctl.js';
import { createAudit } from '../../create-audit.js';
import type { CreateAuditOptions } from '../../api.js';
import { isAuditError } from '../../errors.js';
import { verifyExport } from '../../verify/export.js';
import { FRAME_RECORD, MAGIC, readFrame } from './frame.js';
import { rebuildWalFromExport } from './rebuild.js';

async function ronctl(argv: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {}, cwd };
  const code = await main(argv, io);
  return { code, out, err };
}

async function exportedLog(root: string): Promise<{ opts: CreateAuditOptions; vkey: string; size: number }> {
  const keys = await keystore(root);
  const opts: CreateAuditOptions = { ...keys, walEnabled: true, walDir: join(root, 'wal'), exportEnabled: true, exportDir: join(root, 'export'), checkpointEvery: 1, checkpointIntervalMs: 100, origin: 'test.local/rebuild', env: {} };
  const audit = createAudit(opts);
  await audit.ready();
  for (let round = 0; round < 3; round++) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => audit.emitDurable({ action: 'test.write', outcome: 'success', attributes: { round, i } })));
    await audit.flush();
  }
  const vkey = audit.verifierKey();
  const size = audit.health().log.size;
  await audit.close();
  return { opts, vkey, size };
}

describe('ronctl audit wal-rebuild (runbook "WAL corrupt")', () => {
  it('after AUDIT_WAL_CORRUPT: the damaged WAL moved aside, a WAL rebuilt from the export lets the engine continue the same log', async () => {
    const root = tempDir();
    const { opts, vkey, size } = await exportedLog(root);
    const seg = join(opts.walDir!, '00000000000000000000.wal');
    const buf = readFileSync(seg);
    let off = MAGIC.length;
    let hits = 0;
    while (off < buf.length) {
      const f = readFrame(buf, off);
      if (!f.ok) break;
      if (f.type === FRAME_RECORD && ++hits === 10) buf[off + 30]! ^= 0x10;
      off = f.next;
    }
    writeFileSync(seg, buf);
    const refused = createAudit(opts);
    expect(isAuditError(await refused.ready().catch((e: unknown) => e), 'AUDIT_WAL_CORRUPT')).toBe(true);
    await refused.close();

    renameSync(opts.walDir!, join(root, 'wal.damaged'));
    const r = await ronctl(['audit', 'wal-rebuild', '--export-dir', 'export', '--wal-dir', 'wal', '--key', vkey], root);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`OK: wrote .*00000000000000000000.wal: log test.local/rebuild, ${size} records`));

    const again = createAudit(opts);
    await again.ready();
    expect(again.health().log).toMatchObject({ size, checkpointSize: size });
    await again.emitDurable({ action: 'test.after', outcome: 'success' });
    await again.close();
    const report = await verifyExport({ dir: opts.exportDir!, keys: [vkey] });
    expect(report).toMatchObject({ ok: true, size: size + 1 });
  });

  it('refuses a WAL directory that holds segments, an export that does not verify, and a missing export (wrong-input matrix)', async () => {
    const root = tempDir();
    const { opts, vkey } = await exportedLog(root);
    const busy = await ronctl(['audit', 'wal-rebuild', '--export-dir', 'export', '--wal-dir', 'wal', '--key', vkey], root);
    expect(busy.code).toBe(2);
    expect(busy.err).toMatch(/empty or missing directory/);
    expect(readdirSync(opts.walDir!)).toEqual(['00000000000000000000.wal']);

    const other = await keystore(join(root, 'other'));
    const otherAudit = createAudit({ ...other, origin: 'test.local/rebuild', env: {} });
    await otherAudit.ready();
    const wrongKey = otherAudit.verifierKey();
    await otherAudit.close();
    const bad = await ronctl(['audit', 'wal-rebuild', '--export-dir', 'export', '--wal-dir', 'fresh', '--key', wrongKey], root);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^FAIL: the export .* does not verify/);

    const missing = await ronctl(['audit', 'wal-rebuild', '--export-dir', 'nowhere', '--wal-dir', 'fresh', '--key', vkey], root);
    expect(missing.code).toBe(2);
    expect(await ronctl(['audit', 'wal-rebuild', '--wal-dir', 'fresh', '--key', vkey], root)).toMatchObject({ code: 2 });

    for (const [o, name] of [
      [null, 'options'],
      [{ exportDir: '', walDir: 'w', keys: [vkey] }, 'exportDir'],
      [{ exportDir: 'e', walDir: 7, keys: [vkey] }, 'walDir'],
    ] as const) {
      const err = await rebuildWalFromExport(o as never).catch((e: unknown) => e);
      expect(isAuditError(err, 'AUDIT_INVALID_ARGUMENT'), name).toBe(true);
      expect((err as Error).message).toContain(name);
    }
    mkdirSync(join(root, 'fresh2'));
    const ok = await rebuildWalFromExport({ exportDir: opts.exportDir!, walDir: join(root, 'fresh2'), keys: [vkey] });
    expect(ok.segment).toBe('00000000000000000000.wal');
  });
});
