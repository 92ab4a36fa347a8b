// What every drill shares: a hard time bound, expectations checked and listed, a report written
// to docs/drills/<name>.md (with its picture), and the command-line entry point.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { reportDir } from './paths.mjs';

export const BUDGET = 0.005; // runbook §3: shedding ≤ 0.5% at design load

/** Collects expectations: check(name, ok, detail). */
export class Checks {
  list = [];

  check(name, ok, detail = '') {
    this.list.push({ name, ok: Boolean(ok), detail: String(detail) });
    return Boolean(ok);
  }

  get ok() {
    return this.list.every((c) => c.ok);
  }

  get failed() {
    return this.list.filter((c) => !c.ok);
  }

  markdown() {
    return this.list.map((c) => `| ${c.ok ? 'pass' : '**FAIL**'} | ${c.name} | ${c.detail.replace(/\|/g, '\\|')} |`).join('\n');
  }
}

export const pct = (x, digits = 2) => (Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : 'n/a');
export const ms = (seconds, digits = 1) => (Number.isFinite(seconds) ? `${(seconds * 1000).toFixed(digits)} ms` : 'n/a');
export const num = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
export const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;

export function machine() {
  return `${cpus().length} × ${cpus()[0]?.model?.trim() ?? 'cpu'}, Node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')} at the start (shared machine: other jobs ran alongside)`;
}

/** Write docs/drills/<name>.md and its pictures ({ file: svgText }). */
export function writeReport(name, markdown, pictures = {}) {
  mkdirSync(reportDir, { recursive: true });
  for (const [file, svg] of Object.entries(pictures)) writeFileSync(join(reportDir, file), svg);
  writeFileSync(join(reportDir, `${name}.md`), markdown);
  return join(reportDir, `${name}.md`);
}

/** The results table every report ends its summary with. */
export function checksTable(checks) {
  return ['| result | expectation | measured |', '| --- | --- | --- |', checks.markdown()].join('\n');
}

/**
 * Command-line entry: run the drill (full size unless --quick), write the report unless
 * --no-report, print the checks, exit 0 when all passed, 1 otherwise, 3 when the time bound hit.
 */
export async function cli(meta, run) {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const limit = setTimeout(() => {
    console.error(`drill ${meta.name}: time bound of ${meta.maxSeconds} s reached; stopping`);
    process.exit(3);
  }, meta.maxSeconds * 1000);
  limit.unref();
  const started = Date.now();
  console.log(`drill ${meta.name}: ${meta.title}${quick ? ' (quick)' : ''}`);
  const result = await run({ quick, argv, log: (line) => console.log(`  ${line}`) });
  if (!argv.includes('--no-report')) {
    const file = writeReport(meta.name, result.markdown, result.pictures);
    console.log(`  report: ${file}`);
  }
  for (const c of result.checks.list) console.log(`  ${c.ok ? 'pass' : 'FAIL'}  ${c.name}: ${c.detail}`);
  console.log(`drill ${meta.name}: ${result.checks.ok ? 'PASSED' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // Stop by itself: nothing a drill started may keep the process alive past its report.
  process.exit(result.checks.ok ? 0 : 1);
}

/** True when this module is the script node was started with. */
export function isMain(importMetaUrl) {
  return process.argv[1] !== undefined && importMetaUrl === pathToFileURL(process.argv[1]).href;
}
