// Run every benchmark, one after the other (never two at once: they would measure each other),
// collect their JSON lines into bench/results/latest.json, and regenerate the results table in
// README.md and docs/performance.md between the `bench-results` markers.
//
//   node bench/run-all.mjs            short mode (a few minutes; what `pnpm bench` runs)
//   node bench/run-all.mjs --full     longer rounds, the 30 s heap soak (~15 minutes)
//   node bench/run-all.mjs --only core-append,wal-commit      a subset (the docs are regenerated from it)
//   node bench/run-all.mjs --no-docs  results file only
//
// Expects the packages built (`pnpm build`; `pnpm bench` builds first). Exit 1 if a bench failed.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, parseArgs } from './lib/harness.mjs';
import { replaceBetweenMarkers, resultsMarkdown } from './lib/results-table.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = parseArgs();
const full = args.flag('--full');
const only = args.str('--only', undefined)?.split(',');

/** Each bench with its short and full arguments; --json is added. */
const BENCHES = [
  { name: 'core-append', short: ['--rounds', '3', '--round-ms', '800', '--seconds', '6'], full: ['--rounds', '7', '--round-ms', '1500', '--seconds', '30'] },
  { name: 'wal-commit', short: ['--rounds', '3', '--round-ms', '700'], full: ['--rounds', '7', '--round-ms', '1500'] },
  { name: 'pq-sign', short: ['--rounds', '3', '--round-ms', '800'], full: ['--rounds', '7', '--round-ms', '1500'] },
  { name: 'export-verify', short: ['--records', '50000', '--runs', '3'], full: ['--records', '200000', '--runs', '5'] },
  { name: 'http-fastify', short: ['--rounds', '3', '--round-seconds', '2'], full: ['--rounds', '5', '--round-seconds', '5'] },
  { name: 'http-express', short: ['--rounds', '3', '--round-seconds', '2'], full: ['--rounds', '5', '--round-seconds', '5'] },
  { name: 'http-nest-express', short: ['--rounds', '3', '--round-seconds', '2'], full: ['--rounds', '5', '--round-seconds', '5'] },
  { name: 'http-nest-fastify', short: ['--rounds', '3', '--round-seconds', '2'], full: ['--rounds', '5', '--round-seconds', '5'] },
  { name: 'example-load', short: ['--rounds', '1', '--seconds', '8'], full: ['--rounds', '3', '--seconds', '8'] },
];

function runBench(b) {
  const argv = [join(here, `${b.name}.bench.mjs`), ...(full ? b.full : b.short), '--json'];
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => {
      const seconds = +((performance.now() - t0) / 1000).toFixed(1);
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve({ ...JSON.parse(line), wall_seconds: seconds, command: `node bench/${b.name}.bench.mjs ${argv.slice(1).join(' ')}` });
      } catch (err) {
        resolve({ bench: b.name, error: `${err.message}; stdout: ${out.slice(-500)}`, wall_seconds: seconds });
      }
    });
  });
}

const selected = BENCHES.filter((b) => !only || only.includes(b.name));
const results = [];
const startLoad = loadavg();
for (const b of selected) {
  process.stderr.write(`bench ${b.name} (${full ? 'full' : 'short'}) … `);
  const r = await runBench(b);
  process.stderr.write(r.error ? `FAILED: ${r.error}\n` : `${r.wall_seconds}s\n`);
  results.push(r);
}
/** Which code was measured: the commit, and whether the work tree differed from it (dist is built from the tree). */
function gitState() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return { commit, packages_dirty: dirty };
  } catch {
    return undefined;
  }
}

const latest = {
  generated: new Date().toISOString(),
  git: gitState(),
  mode: full ? 'full' : 'short',
  command: `node bench/run-all.mjs${full ? ' --full' : ''}${only ? ` --only ${only.join(',')}` : ''}`,
  machine: { ...machine(), load_average_start: startLoad.map((x) => +x.toFixed(2)), load_average_end: loadavg().map((x) => +x.toFixed(2)) },
  results,
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'latest.json'), `${JSON.stringify(latest, null, 2)}\n`);
console.log(`wrote bench/results/latest.json (${results.length} benches)`);

if (!args.flag('--no-docs')) {
  for (const [file, detail] of [['README.md', false], [join('docs', 'performance.md'), true]]) {
    const path = join(root, file);
    writeFileSync(path, replaceBetweenMarkers(readFileSync(path, 'utf8'), resultsMarkdown(latest, { detail }), file));
    console.log(`regenerated the results table in ${file}`);
  }
}
console.log(resultsMarkdown(latest));
process.exitCode = results.some((r) => r.error) ? 1 : 0;
