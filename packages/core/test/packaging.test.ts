import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The published shape of @ron-audit/core, checked on its tarball (run `pnpm run build` first).
const pkgDir = fileURLToPath(new URL('..', import.meta.url));

describe('published tarball', () => {
  it('its tarball (pnpm pack) carries dist, README and LICENSE and no tests, and publint and @arethetypeswrong find nothing', async () => {
    const { CLEAN_TARBALL, tarballProblems } = await import(fileURLToPath(new URL('../../../scripts/pack-check.mjs', import.meta.url)));
    expect(await tarballProblems(pkgDir, ['bin/ronctl.cjs', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/verify/index.js', 'dist/cjs/verify/index.d.ts'])).toEqual(CLEAN_TARBALL);
  }, 120_000);
});
