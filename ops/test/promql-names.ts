import { createAudit, METRIC_NAMES } from '@ron-audit/core';

/**
 * The metric names a PromQL expression reads: every identifier that is not a function call, a
 * keyword, a label (inside {…} or a by/without/on/ignoring/group_* list), a duration, a string or
 * a Grafana variable. Enough for the expressions of our alerts and dashboard; not a PromQL parser.
 */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range and subquery durations
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists (sum by (le) (x) → sum (x))
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, ''); // Grafana variables
  const names: string[] = [];
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = s.slice(m.index! + m[0].length);
    if (/^\s*\(/.test(rest)) continue; // a function
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    if (/[0-9.]$/.test(s.slice(0, m.index!)) && /^(ms|s|m|h|d|w|y|e[0-9+-]*)$/.test(m[0])) continue; // 5m, 1e3
    names.push(m[0]);
  }
  return names;
}

/**
 * The series names the code registers: METRIC_NAMES, with each histogram replaced by its
 * _bucket, _sum and _count series (a bare histogram name has no series in Prometheus). Types come
 * from the registry an engine really registers on, not from a list kept by hand.
 */
export async function registeredSeries(): Promise<{ series: Set<string>; histograms: string[] }> {
  const engine = createAudit({ enabled: false, env: {} });
  const metrics = await engine.metrics.registry.getMetricsAsJSON();
  await engine.close();
  const types = new Map(metrics.map((m) => [m.name, String(m.type)]));
  const series = new Set<string>();
  const histograms: string[] = [];
  for (const name of METRIC_NAMES) {
    if (!types.has(name)) throw new Error(`METRIC_NAMES lists ${name} but the engine does not register it`);
    if (types.get(name) === 'histogram') {
      histograms.push(name);
      for (const suffix of ['_bucket', '_sum', '_count']) series.add(name + suffix);
    } else series.add(name);
  }
  return { series, histograms };
}
