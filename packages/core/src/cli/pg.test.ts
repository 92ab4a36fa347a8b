// ronctl's PostgreSQL commands through main(): `pg migrate` and `audit verify --pg`, exit codes
// 0 / 1 / 2, against the run's real PostgreSQL.
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect } from 'vitest';
import { keystore, tempDir } from '../../test/helpers.js';
import { metricValue, sleep } from '../../test/support/engine.js';
import { asUser, pgIt, PG_URL } from '../../test/support/pg.js';
import { createAudit } from '../create-audit.js';
import { main } from './ronctl.js';

async function ronctl(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env, cwd: process.cwd() });
  return { code, out, err };
}

describe('ronctl and PostgreSQL', () => {
  pgIt('pg migrate, then audit verify --pg: 0 when every log verifies, 1 when one is possibly truncated, 2 for usage and I/O errors', async () => {
    const schema = `cli_${process.pid}_${Date.now().toString(36)}`;
    const migrated = await ronctl(['pg', 'migrate', '--url', PG_URL, '--schema', schema, '--writer-role', `${schema}_w`, '--reader-role', `${schema}_r`]);
    expect(migrated.err).toBe('');
    expect(migrated.code).toBe(0);
    expect(migrated.out).toMatch(/^OK: schema cli_\S+ at version 1/);

    const root = tempDir();
    const { keystoreDir } = await keystore(root);
    const registry = new Registry();
    const e = createAudit({ env: {}, registry, walEnabled: true, walDir: join(root, 'wal'), keystoreDir, keyId: 'k', origin: 'test.local/cli', pgUrl: asUser(PG_URL, `${schema}_w`), pgSchema: schema });
    await e.ready();
    for (let i = 0; i < 10; i++) await e.emitDurable({ action: 'cli.test', outcome: 'success' });
    while ((await metricValue(registry, 'audit_ship_lag_records')) > 0) await sleep(10);
    await e.close({ timeoutMs: 0 }); // not sealed: a crash, as far as the database can tell
    const vkey = e.verifierKey();
    const reader = asUser(PG_URL, `${schema}_r`);

    const live = await ronctl(['audit', 'verify', '--pg', reader, '--schema', schema, '--key', vkey]);
    expect(live.code).toBe(0);
    expect(live.out).toMatch(/^OK: 1 logs, \d+ records verified \(0 sealed, 1 live\)/);
    expect(live.out).toContain('test.local/cli: 10 records');

    const stale = await ronctl(['audit', 'verify', '--pg', reader, '--schema', schema, '--key', vkey, '--stale-after', '0']);
    expect(stale.code).toBe(1);
    expect(stale.out).toMatch(/^FAIL: possibly_truncated/);
    expect(stale.out).toContain('POSSIBLY TRUNCATED');

    const json = await ronctl(['audit', 'verify', '--pg', reader, '--schema', schema, '--keystore-dir', keystoreDir, '--json', '--since', '2000-01-01T00:00:00Z', '--until', String(Date.now() + 60_000)]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ ok: true, inRange: 10, logs: [{ origin: 'test.local/cli', status: 'live' }] });
    expect(json.err).toContain('operator mode');

    expect((await ronctl(['audit', 'verify', '--pg', reader, '--help'])).code).toBe(0);
    for (const argv of [
      ['audit', 'verify', '--pg', 'http://x', '--key', vkey],
      ['audit', 'verify', '--pg', reader, '--schema', schema],
      ['audit', 'verify', '--pg', reader, '--key', 'nonsense'],
      ['audit', 'verify', '--pg', reader, '--key', vkey, '--since', 'yesterday'],
      ['audit', 'verify', '--pg', reader, '--key', vkey, '--since', '2026-01-02', '--until', '2026-01-01'],
      ['audit', 'verify', '--pg', reader, '--key', vkey, '--bogus'],
      ['audit', 'verify', '--pg', 'postgres://nobody:pw-secret@127.0.0.1:1/x', '--key', vkey],
      ['audit', 'verify', '--pg', reader, '--key', vkey, '--schema', 'no_such_schema'],
      ['pg', 'migrate'],
      ['pg', 'nothing'],
    ]) {
      const r = await ronctl(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.length, argv.join(' ')).toBeGreaterThan(0);
      expect(r.err).not.toContain('pw-secret');
    }
  });
});
