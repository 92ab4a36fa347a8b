// The PostgreSQL settings: AUDIT_PG_URL / pgUrl, AUDIT_PG_BATCH / pgBatch, AUDIT_PG_SCHEMA /
// pgSchema. Shipping requires the WAL; a bad value names the variable and what is allowed, and a
// URL's password never appears in an error.
import { describe, expect, it } from 'vitest';
import { DEFAULT_PG_BATCH, DEFAULT_PG_SCHEMA, resolveConfig, type AuditOptions } from './config.js';
import { AuditError } from './errors.js';
import { createAudit } from './create-audit.js';

const URL_OK = 'postgres://ron_audit_writer@db.example:5432/audit';

function configError(fn: () => unknown): AuditError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AuditError);
    expect((err as AuditError).code).toBe('AUDIT_CONFIG_INVALID');
    return err as AuditError;
  }
  throw new Error('expected AUDIT_CONFIG_INVALID');
}

describe('PostgreSQL configuration', () => {
  it('is off by default, with named defaults for batch and schema', () => {
    const c = resolveConfig({}, {});
    expect(c.pgUrl).toBeUndefined();
    expect(c.pgBatch).toBe(DEFAULT_PG_BATCH);
    expect(c.pgSchema).toBe(DEFAULT_PG_SCHEMA);
    expect([DEFAULT_PG_BATCH, DEFAULT_PG_SCHEMA]).toEqual([64, 'ron_audit']);
  });

  it('accepts a URL with the WAL on, from the environment and as an option', () => {
    expect(resolveConfig({}, { AUDIT_PG_URL: URL_OK, AUDIT_WAL_ENABLED: 'true' }).pgUrl).toBe(URL_OK);
    expect(resolveConfig({ pgUrl: 'postgresql://u@h/db', walEnabled: true }, {}).pgUrl).toBe('postgresql://u@h/db');
  });

  it('refuses AUDIT_PG_URL without the WAL, naming both', () => {
    for (const [opts, env, name] of [
      [{}, { AUDIT_PG_URL: URL_OK }, 'AUDIT_PG_URL'],
      [{ pgUrl: URL_OK }, {}, 'pgUrl'],
      [{ pgUrl: URL_OK, walEnabled: false }, { AUDIT_WAL_ENABLED: 'true' }, 'pgUrl'],
    ] as [AuditOptions, Record<string, string>, string][]) {
      const err = configError(() => resolveConfig(opts, env));
      expect(err.message).toContain(name);
      expect(err.message).toContain('AUDIT_WAL_ENABLED');
      expect(err.details['key']).toBe(name);
    }
    configError(() => createAudit({ env: { AUDIT_PG_URL: URL_OK } }));
  });

  const badEnv: [string, string, string][] = [
    ['AUDIT_PG_URL', 'http://db.example/audit', 'a postgres:// or postgresql:// URL'],
    ['AUDIT_PG_URL', 'db.example:5432', 'a postgres:// or postgresql:// URL'],
    ['AUDIT_PG_URL', 'postgres://', 'a postgres:// or postgresql:// URL'],
    ['AUDIT_PG_URL', 'postgres://[::1', 'a postgres:// or postgresql:// URL'],
    ['AUDIT_PG_BATCH', '0', 'an integer from 1 to 4096'],
    ['AUDIT_PG_BATCH', '4097', 'an integer from 1 to 4096'],
    ['AUDIT_PG_BATCH', 'many', 'an integer from 1 to 4096'],
    ['AUDIT_PG_BATCH', '6.4', 'an integer from 1 to 4096'],
    ['AUDIT_PG_SCHEMA', 'Audit', 'a lowercase SQL identifier'],
    ['AUDIT_PG_SCHEMA', 'audit; drop table x', 'a lowercase SQL identifier'],
    ['AUDIT_PG_SCHEMA', '1audit', 'a lowercase SQL identifier'],
    ['AUDIT_PG_SCHEMA', 'a'.repeat(64), 'a lowercase SQL identifier'],
  ];
  it.each(badEnv)('%s=%j is refused', (name, value, allowed) => {
    const err = configError(() => resolveConfig({}, { AUDIT_WAL_ENABLED: 'true', [name]: value }));
    expect(err.message).toContain(name);
    expect(err.message).toContain(allowed);
  });

  const badOptions: [string, unknown][] = [
    ['pgUrl', 42],
    ['pgUrl', ''],
    ['pgUrl', null],
    ['pgBatch', 0],
    ['pgBatch', Number.NaN],
    ['pgBatch', '64'],
    ['pgSchema', ''],
    ['pgSchema', 7],
  ];
  it.each(badOptions)('option %s = %o is refused', (name, value) => {
    const err = configError(() => resolveConfig({ walEnabled: true, [name]: value } as AuditOptions, {}));
    expect(err.message).toContain(name);
  });

  it('never echoes the password of a URL in an error', () => {
    const err = configError(() => resolveConfig({}, { AUDIT_WAL_ENABLED: 'true', AUDIT_PG_URL: 'mysql://audit:hunter2@db/x' }));
    expect(err.message).not.toContain('hunter2');
    expect(err.message).toContain('***');
  });

  it('cannot be changed by a hot reload', async () => {
    const e = createAudit({ env: {}, enabled: false });
    await expect(e.reload({ pgBatch: 8 })).rejects.toMatchObject({ code: 'AUDIT_CONFIG_INVALID' });
    await e.close();
  });
});
