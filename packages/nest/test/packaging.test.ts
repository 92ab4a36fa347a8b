import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = existsSync(join(pkg, 'dist/cjs/index.js')) && existsSync(join(pkg, 'dist/esm/index.js'));
const NAMES = ['AuditModule', 'Audit', 'SkipAudit', 'AuditHealthIndicator', 'AuditInterceptor', 'AuditRuntime', 'AUDIT_ENGINE', 'AUDIT_MODULE_OPTIONS'];

function node(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd: pkg, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// The published shape, not the sources: run after `pnpm run build`.
describe.skipIf(!built)('package entry points (after build)', () => {
  it("loads with require('@ron-audit/nest') from CommonJS", () => {
    const r = node(['-e', `const m = require('@ron-audit/nest'); console.log(JSON.stringify(${JSON.stringify(NAMES)}.filter((n) => m[n] === undefined)))`]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it("loads with import('@ron-audit/nest') from ESM without @nestjs/terminus being loaded", () => {
    const script = `const m = await import('@ron-audit/nest'); const missing = ${JSON.stringify(NAMES)}.filter((n) => m[n] === undefined); const { createRequire } = await import('node:module'); const loaded = Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes('@nestjs/terminus')); console.log(JSON.stringify({ missing, loaded }));`;
    const r = node(['--input-type=module', '-e', script]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ missing: [], loaded: false });
  });
});

describe('public types', () => {
  // The tests use the package as a host would, under the monorepo's strict settings
  // (exactOptionalPropertyTypes, noUncheckedIndexedAccess), and pass AuditHealthIndicator's result
  // to terminus's HealthCheckService: type-checking them checks those types.
  it('type-check the test suite, terminus included (tsc -p tsconfig.test.json)', () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = node([tsc, '-p', 'tsconfig.test.json']);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);
});

describe('published tarball', () => {
  it('its tarball (pnpm pack) carries dist, README and LICENSE and no tests, and publint and @arethetypeswrong find nothing', async () => {
    const { CLEAN_TARBALL, tarballProblems } = await import(fileURLToPath(new URL('../../../scripts/pack-check.mjs', import.meta.url)));
    expect(await tarballProblems(pkg, ['dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts'])).toEqual(CLEAN_TARBALL);
  }, 120_000);
});
