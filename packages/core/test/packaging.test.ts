import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The published shape of @ron-audit/core, checked on its tarball (run `pnpm run build` first).
const pkgDir = fileURLToPath(new URL('..', import.meta.url));

describe('published tarball', () => {
  it('its tarball (pnpm pack) carries dist, README and LICENSE and no tests, and publint and @arethetypeswrong find nothing', async () => {
    const { packAndCheck } = await import(fileURLToPath(new URL('../../../scripts/pack-check.mjs', import.meta.url)));
    const r = await packAndCheck(pkgDir);
    expect(r.files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'bin/ronctl.cjs', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/verify/index.js', 'dist/cjs/verify/index.d.ts']));
    expect(r.files.filter((f: string) => /\.test\.|test-support|(^|\/)test\//.test(f))).toEqual([]);
    expect(readFileSync(join(pkgDir, 'LICENSE'), 'utf8')).toBe(readFileSync(fileURLToPath(new URL('../../../LICENSE', import.meta.url)), 'utf8'));
    // Suggestions (e.g. "sideEffects") are advice, not defects; errors and warnings fail.
    expect(r.publint.filter((m: { type: string }) => m.type !== 'suggestion')).toEqual([]);
    expect(r.attw).toEqual([]);
    expect(r.attwExit).toBe(0);
  }, 120_000);
});
