import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/** The published shape, checked on the build output (run `pnpm run build` first). */
const run = promisify(execFile);
const pkg = fileURLToPath(new URL('..', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const built = existsSync(`${pkg}/dist/cjs/index.js`) && existsSync(`${pkg}/dist/esm/index.d.ts`);

describe('packaging (after build)', () => {
  it('has been built', () => {
    expect(built, 'dist/ is missing: run `npx -y pnpm@10.34.8 run build` first').toBe(true);
  });

  it.runIf(built)('works from a CommonJS host via require()', async () => {
    const { stdout } = await run(process.execPath, [fixture('host.cjs')], { cwd: pkg });
    expect(JSON.parse(stdout)).toEqual({ status: 200, same: true });
  });

  it.runIf(built)('works from an ES module host via import', async () => {
    const { stdout } = await run(process.execPath, [fixture('host.mjs')], { cwd: pkg });
    expect(JSON.parse(stdout)).toEqual({ status: 200, same: true });
  });

  it.runIf(built)('types the options, the route config and fastify.audit for a TypeScript host', async () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await expect(run(process.execPath, [tsc, '-p', fixture('tsconfig.json')], { cwd: pkg })).resolves.toBeDefined();
  }, 60_000);
});

describe('published tarball', () => {
  it('its tarball (pnpm pack) carries dist, README and LICENSE and no tests, and publint and @arethetypeswrong find nothing', async () => {
    const { CLEAN_TARBALL, tarballProblems } = await import(fileURLToPath(new URL('../../../scripts/pack-check.mjs', import.meta.url)));
    expect(await tarballProblems(pkg, ['dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts'])).toEqual(CLEAN_TARBALL);
  }, 120_000);
});
