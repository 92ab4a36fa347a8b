// The real pipeline end to end: an engine with the WAL and the export on, a key rotation by hot
// reload in the middle, then the export verified from the first key only — the auditor's view.
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { main } from '../cli/ronctl.js';
import { generateKey } from '../sign/keystore.js';
import { verifyExport } from './export.js';
import { audit, cleanup, tempDir } from '../../test/support/engine.js';

afterAll(cleanup);

it('an engine export with a key rotation verifies from the trust root, and agrees with its WAL', async () => {
  const base = await tempDir();
  const keys = join(base, 'keys');
  await generateKey(keys, 'k1');
  await generateKey(keys, 'k2');
  const dir = join(base, 'export');
  const wal = join(base, 'wal');
  const a = audit({ keystoreDir: keys, keyId: 'k1', exportEnabled: true, exportDir: dir, walEnabled: true, walDir: wal, checkpointEvery: 100, checkpointIntervalMs: 100 });
  await a.ready();
  const trustRoot = a.verifierKey();
  for (let i = 0; i < 1000; i++) a.emit({ action: 'order.create', outcome: 'success' });
  await a.flush();
  await a.reload({ keyId: 'k2' });
  for (let i = 0; i < 1000; i++) {
    a.emit({ action: 'order.update', outcome: 'success' });
    if (i % 100 === 99) await a.flush();
  }
  await a.close();
  const report = await verifyExport({ dir, keys: [trustRoot] });
  expect(report.failure).toBeNull();
  expect(report.verified).toBe(report.size);
  expect(report.size).toBeGreaterThanOrEqual(2000);
  expect(report.keysTrusted).toEqual([a.verifierKey()]);
  let out = '';
  const code = await main(['audit', 'verify', '--export-dir', dir, '--key', trustRoot, '--wal-dir', wal], { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (out += s) }, env: {}, cwd: base });
  expect(code, out).toBe(0);
  expect(out).toMatch(/^OK: \d+ records verified/);
  expect(out).toMatch(/wal: agrees with the export on \d+ records/);
});
