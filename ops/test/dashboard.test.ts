import { readFileSync } from 'node:fs';
import { METRIC_NAMES } from '@ron-audit/core';
import { describe, expect, it } from 'vitest';
import { metricNames, registeredSeries } from './promql-names.js';

const dashboard = JSON.parse(readFileSync(new URL('../grafana/ron-audit.json', import.meta.url), 'utf8')) as {
  panels: { type: string; title: string; targets?: { expr: string }[]; panels?: unknown[] }[];
  templating: { list: { name: string; query?: unknown }[] };
};

/** Every PromQL expression of the dashboard: panel targets (rows included) and variable queries. */
function expressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: typeof dashboard.panels) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      if (p.panels) walk(p.panels as typeof dashboard.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list) {
    const q = typeof v.query === 'object' && v.query !== null ? (v.query as { query?: string }).query : undefined;
    // label_values(metric, label): the metric is a name to check, the label is not.
    const m = /^label_values\(\s*([^,\s)]+)\s*,/.exec(q ?? '');
    if (m) out.push({ where: `variable $${v.name}`, expr: m[1]! });
  }
  return out;
}

describe('ops/grafana/ron-audit.json', () => {
  it('is a Grafana dashboard with panels that query Prometheus', () => {
    expect(dashboard.panels.length).toBeGreaterThan(10);
    expect(expressions().length).toBeGreaterThan(20);
  });

  it('uses only metric names the code registers (histograms by their _bucket, _sum, _count series)', async () => {
    const { series } = await registeredSeries();
    const unknown = expressions().flatMap(({ where, expr }) => metricNames(expr).filter((n) => !series.has(n)).map((n) => `${n} (${where}: ${expr})`));
    expect(unknown).toEqual([]);
  });

  it('shows every golden metric', () => {
    const used = new Set(expressions().flatMap(({ expr }) => metricNames(expr).map((n) => n.replace(/_(bucket|sum|count)$/, ''))));
    expect(METRIC_NAMES.filter((n) => !used.has(n))).toEqual([]);
  });

  it('the name check catches a name the code does not register', async () => {
    const { series } = await registeredSeries();
    expect(metricNames('sum(rate(audit_appended_totals{instance=~"$instance"}[5m])) by (instance)')).toEqual(['audit_appended_totals']);
    expect(metricNames('histogram_quantile(0.95, sum by (le) (rate(wal_fsync_seconds_bucket[$__rate_interval]))) > 0.008')).toEqual(['wal_fsync_seconds_bucket']);
    expect(series.has('wal_fsync_seconds')).toBe(false);
    expect(series.has('audit_appended_totals')).toBe(false);
  });
});
