// The performance regression guard's logic (runbook Gate F), pure so a unit test can drive it on
// fixtures: compare the `ratios` of a fresh run with those of the committed baseline. Only ratios
// are compared — each measured against its own baseline in the same run (audited/plain,
// wal/raw, …) — because absolute rates on a shared machine move with the neighbours' load.
// Every ratio is oriented so that higher is better.

export const DEFAULT_TOLERANCE = 0.1;

/**
 * @returns {{ ok: boolean, rows: { bench: string, figure: string, baseline: number|null, latest: number|null, change: number|null, status: 'ok'|'better'|'worse'|'missing'|'new' }[] }}
 *   `worse`: below baseline × (1 − tolerance); `missing`: in the baseline but not (or not finite)
 *   in the fresh run, e.g. a bench that failed; `new`: only in the fresh run. ok is false when any
 *   row is worse or missing.
 */
export function compareResults(baseline, latest, { tolerance = DEFAULT_TOLERANCE } = {}) {
  if (!(tolerance >= 0 && tolerance < 1)) throw new Error(`tolerance ${tolerance} is invalid: expected a fraction from 0 to 1, e.g. 0.1`);
  const ratiosOf = (doc, which) => {
    if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.results)) throw new Error(`${which} is not a bench results document (no results array)`);
    const map = new Map();
    for (const r of doc.results) {
      if (r === null || typeof r !== 'object' || typeof r.bench !== 'string') throw new Error(`${which} has a result without a bench name`);
      map.set(r.bench, r.error ? {} : (r.ratios ?? {}));
    }
    return map;
  };
  const base = ratiosOf(baseline, 'baseline');
  const fresh = ratiosOf(latest, 'latest');
  const rows = [];
  for (const [bench, figures] of base) {
    for (const [figure, b] of Object.entries(figures)) {
      if (!Number.isFinite(b)) continue;
      const l = fresh.get(bench)?.[figure];
      if (!Number.isFinite(l)) {
        rows.push({ bench, figure, baseline: b, latest: null, change: null, status: 'missing' });
        continue;
      }
      const change = b === 0 ? 0 : l / b - 1;
      const status = l < b * (1 - tolerance) ? 'worse' : l > b * (1 + tolerance) ? 'better' : 'ok';
      rows.push({ bench, figure, baseline: b, latest: l, change, status });
    }
  }
  for (const [bench, figures] of fresh) {
    for (const [figure, l] of Object.entries(figures)) {
      if (base.get(bench)?.[figure] === undefined) rows.push({ bench, figure, baseline: null, latest: Number.isFinite(l) ? l : null, change: null, status: 'new' });
    }
  }
  return { ok: rows.every((r) => r.status !== 'worse' && r.status !== 'missing'), rows };
}

/** The human report of compareResults(). */
export function formatComparison({ ok, rows }, tolerance = DEFAULT_TOLERANCE) {
  const fmt = (x) => (x === null ? '—' : x.toFixed(3));
  const lines = rows.map(
    (r) =>
      `${r.status === 'worse' || r.status === 'missing' ? 'FAIL' : '    '} ${`${r.bench} ${r.figure}`.padEnd(40)} ${fmt(r.baseline).padStart(7)} → ${fmt(r.latest).padStart(7)}  ${r.change === null ? '' : `${r.change >= 0 ? '+' : ''}${(r.change * 100).toFixed(1)}%`.padStart(7)}  ${r.status}`,
  );
  const bad = rows.filter((r) => r.status === 'worse' || r.status === 'missing').length;
  lines.push(ok ? `OK: no ratio more than ${tolerance * 100}% worse than the baseline (${rows.length} figures)` : `REGRESSION: ${bad} figure(s) more than ${tolerance * 100}% worse than the baseline, or missing`);
  return lines.join('\n');
}
