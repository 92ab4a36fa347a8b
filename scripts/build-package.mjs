// Build one package (run from its folder): ESM with declarations into dist/esm, CommonJS into
// dist/cjs (marked with its own package.json), both from the same sources with tsc.
// It builds into a fresh temporary folder and swaps it in with renames, so a process that is
// importing the package while another one rebuilds it never sees a half-empty dist/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const tmp = `dist.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--outDir', `${tmp}/esm`], { stdio: 'inherit' });
  execFileSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.json', '--module', 'commonjs', '--moduleResolution', 'node10', '--verbatimModuleSyntax', 'false', '--outDir', `${tmp}/cjs`],
    { stdio: 'inherit' },
  );
  mkdirSync(`${tmp}/cjs`, { recursive: true });
  writeFileSync(`${tmp}/cjs/package.json`, JSON.stringify({ type: 'commonjs' }) + '\n');
  writeFileSync(`${tmp}/esm/package.json`, JSON.stringify({ type: 'module' }) + '\n');
  const old = `dist.old-${process.pid}`;
  try {
    renameSync('dist', old);
  } catch {
    /* first build */
  }
  renameSync(tmp, 'dist');
  rmSync(old, { recursive: true, force: true });
} catch (err) {
  rmSync(tmp, { recursive: true, force: true });
  process.exitCode = 1;
  if (!(err && typeof err === 'object' && 'status' in err)) throw err;
}
