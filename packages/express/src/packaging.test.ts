import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The published shape, checked on the build output (run `pnpm run build` first), from both module systems.
const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const EXPECTED = ['audit', 'AuditNotReadyError', 'DEFAULT_STATUS_CODE', 'RESPONSE_CAPTURE_CAP_BYTES', 'DIGEST_BYTES_ANNOTATION'];

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: pkgDir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
}

describe('package entry points', () => {
  it('is built', () => {
    expect(existsSync(new URL('../dist/cjs/index.js', import.meta.url))).toBe(true);
    expect(existsSync(new URL('../dist/esm/index.js', import.meta.url))).toBe(true);
  });

  it("works with require('@ron-audit/express') from CommonJS, serving requests", () => {
    const script = `
      const express = require('express');
      const { audit } = require('@ron-audit/express');
      const auditor = audit({ engine: { enabled: false, env: {} }, readiness: true });
      const app = express();
      app.use(auditor);
      app.get('/x', (req, res) => res.send('x'));
      app.use(auditor.errorHandler());
      const server = app.listen(0, '127.0.0.1', async () => {
        const base = 'http://127.0.0.1:' + server.address().port;
        const ready = (await fetch(base + '/readyz')).status;
        const x = (await fetch(base + '/x')).status;
        console.log(JSON.stringify({ keys: Object.keys(require('@ron-audit/express')), len: auditor.length, eh: auditor.errorHandler().length, ready, x }));
        server.close();
        await auditor.close();
      });`;
    const got = JSON.parse(node(['-e', script])) as { keys: string[]; len: number; eh: number; ready: number; x: number };
    expect(got.keys).toEqual(expect.arrayContaining(EXPECTED));
    expect(got).toMatchObject({ len: 3, eh: 4, ready: 200, x: 200 });
  });

  it("works with import('@ron-audit/express') from ESM", () => {
    const out = node(['--input-type=module', '-e', "const m = await import('@ron-audit/express'); console.log(JSON.stringify(Object.keys(m)))"]);
    expect(JSON.parse(out)).toEqual(expect.arrayContaining(EXPECTED));
  });
});

describe('published tarball', () => {
  it('its tarball (pnpm pack) carries dist, README and LICENSE and no tests, and publint and @arethetypeswrong find nothing', async () => {
    const { CLEAN_TARBALL, tarballProblems } = await import(fileURLToPath(new URL('../../../scripts/pack-check.mjs', import.meta.url)));
    expect(await tarballProblems(pkgDir, ['dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts'])).toEqual(CLEAN_TARBALL);
  }, 120_000);
});
