// The published shape of one package, checked on the tarball a release would upload: `pnpm pack`
// (which rewrites workspace:* ranges as publishing does), then publint and @arethetypeswrong/cli
// on that tarball. Used by each package's packaging test.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const bin = (pkg, name) => join(require.resolve(`${pkg}/package.json`), '..', require(`${pkg}/package.json`).bin[name]);

/**
 * @param {string} pkgDir the package folder (built)
 * @returns {Promise<{ files: string[], publint: { type: string, code: string, message: string }[], attw: unknown[], attwExit: number }>}
 */
export async function packAndCheck(pkgDir) {
  const out = await mkdtemp(join(tmpdir(), 'ron-audit-pack-'));
  try {
    await run('npx', ['-y', 'pnpm@10.34.8', 'pack', '--pack-destination', out], { cwd: pkgDir, maxBuffer: 64 << 20 });
    const tgz = (await readdir(out)).find((f) => f.endsWith('.tgz'));
    if (tgz === undefined) throw new Error(`pnpm pack left no tarball in ${out}`);
    const tarball = join(out, tgz);
    const { stdout: list } = await run('tar', ['tzf', tarball], { maxBuffer: 64 << 20 });
    const files = list.split('\n').filter((l) => l.length > 0).map((l) => l.replace(/^package\//, ''));

    const { publint } = await import('publint');
    const { formatMessage } = await import('publint/utils');
    const { readFile } = await import('node:fs/promises');
    const buf = await readFile(tarball);
    const pl = await publint({ pack: { tarball: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) }, level: 'suggestion' });
    const pkgJson = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8'));
    const publintMessages = pl.messages.map((m) => ({ type: m.type, code: m.code, message: formatMessage(m, pkgJson) ?? m.code }));

    const attwBin = bin('@arethetypeswrong/cli', 'attw');
    const r = await run(process.execPath, [attwBin, tarball, '--format', 'json'], { maxBuffer: 256 << 20 }).then(
      (x) => ({ ...x, code: 0 }),
      (e) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 }),
    );
    let attw;
    try {
      const j = JSON.parse(r.stdout);
      const problems = j.problems ?? j.analysis?.problems ?? [];
      attw = Array.isArray(problems) ? problems : Object.values(problems).flat();
    } catch {
      attw = [{ kind: 'attw-output-unreadable', stderr: r.stderr.slice(0, 2000) }];
    }
    return { files, publint: publintMessages, attw, attwExit: r.code };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/** What every package's packaging test demands of its tarball, as one value to compare with CLEAN_TARBALL. */
export const CLEAN_TARBALL = Object.freeze({ missing: [], testFiles: [], licenseDiffers: false, publint: [], attw: [], attwExit: 0 });

/**
 * packAndCheck, then the rules the packaging tests hold every package to: the tarball carries
 * `mustHave` (plus package.json, README.md, LICENSE) and no tests or test-support, its LICENSE is
 * the repository's, publint reports no error or warning (suggestions such as "sideEffects" are
 * advice, not defects), and @arethetypeswrong finds nothing.
 * @param {string} pkgDir
 * @param {string[]} mustHave
 */
export async function tarballProblems(pkgDir, mustHave) {
  const { readFile } = await import('node:fs/promises');
  const r = await packAndCheck(pkgDir);
  const root = join(pkgDir, '..', '..');
  return {
    missing: ['package.json', 'README.md', 'LICENSE', ...mustHave].filter((f) => !r.files.includes(f)),
    testFiles: r.files.filter((f) => /\.test\.|test-support|(^|\/)test\//.test(f)),
    licenseDiffers: (await readFile(join(pkgDir, 'LICENSE'), 'utf8')) !== (await readFile(join(root, 'LICENSE'), 'utf8')),
    publint: r.publint.filter((m) => m.type !== 'suggestion'),
    attw: r.attw,
    attwExit: r.attwExit,
  };
}
