import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { metricNames, registeredSeries } from './promql-names.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const rules = fileURLToPath(new URL('../prometheus/alerts.yml', import.meta.url));
const tests = fileURLToPath(new URL('../prometheus/alerts.test.yml', import.meta.url));

// Found or fetched by test/promtool-setup.ts (scripts/ensure-promtool.sh).
const PROMTOOL = inject('promtool');

function promtool(args: string[]) {
  if (!PROMTOOL) {
    // Fail, do not skip: an alert file nobody tested is worse than a red build.
    throw new Error(`promtool is not available, so the alert rules cannot be tested: ${inject('promtoolError')}`);
  }
  return spawnSync(PROMTOOL, args, { cwd: root, encoding: 'utf8', timeout: 50_000 });
}

describe('ops/prometheus/alerts.yml', () => {
  it('passes its promtool unit tests (firing and quiet cases for every rule)', () => {
    const version = promtool(['--version']);
    expect(version.status, version.stderr).toBe(0);
    const r = promtool(['test', 'rules', tests]);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('is valid for promtool check rules', () => {
    const r = promtool(['check', 'rules', rules]);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  });

  it('holds the runbook\'s alert expressions verbatim, and reads only metrics the code registers', async () => {
    const text = readFileSync(rules, 'utf8');
    expect(text).toContain('expr: sum(audit_verify_fail_total) > 0');
    expect(text).toContain('expr: sum(rate(busy_rejections_total[5m])) / sum(rate(audit_appended_total[5m])) > 0.005');
    expect(text).toContain('expr: histogram_quantile(0.95, sum(rate(wal_fsync_seconds_bucket[5m])) by (le)) > 0.008');
    const { series } = await registeredSeries();
    const exprs = [...text.matchAll(/^\s*expr:\s*(.+)$/gm)].map((m) => m[1]!);
    expect(exprs.length).toBe(5);
    for (const e of exprs) for (const name of metricNames(e)) expect(series, `${name} in ${e}`).toContain(name);
  });
});
