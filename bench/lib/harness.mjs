// The bench harness every scenario shares: argument parsing, the sample event, medians and
// percentiles, and the one-line JSON result that bench/run-all.mjs collects.
//
// Every scenario measures its own baseline in the same process and the same run, in alternating
// rounds, and reports medians: on a shared 2-core machine absolute numbers drift with the
// neighbours' load, while a ratio measured side by side mostly does not. That is why
// bench/compare.mjs guards only the `ratios` of a result.
import { cpus } from 'node:os';

/** `--name value` numbers and `--flag` booleans from argv. */
export function parseArgs(argv = process.argv.slice(2)) {
  return {
    num(name, dflt) {
      const i = argv.indexOf(name);
      if (i < 0) return dflt;
      const v = Number(argv[i + 1]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${name} ${JSON.stringify(argv[i + 1])} is invalid: expected a number ≥ 0`);
      return v;
    },
    str(name, dflt) {
      const i = argv.indexOf(name);
      return i < 0 ? dflt : argv[i + 1];
    },
    flag: (name) => argv.includes(name),
  };
}

/**
 * A typical HTTP-exchange event, ~0.6 KB canonical: what an adapter records for a write at the
 * metadata level. Varies per `i` like real traffic (ids, paths), so no cache flatters a side.
 */
export function sampleEvent(i) {
  return {
    action: 'POST /orders/:id',
    outcome: 'success',
    actor: { id: `user-${i % 1000}`, type: 'user' },
    request_id: `req-${i}`,
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
    attributes: {
      'http.request.method': 'POST',
      'url.path': `/orders/${i}`,
      'http.route': '/orders/:id',
      'http.response.status_code': 201,
      'client.address': '10.1.2.3',
      'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
      'http.server.request.duration': 0.0123,
    },
  };
}

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of raw samples. */
export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/**
 * Quantile q (0..1) of a prom-client histogram's `get()` values, interpolated inside the bucket
 * the way Prometheus' histogram_quantile() does (what an alert on the metric would see).
 */
export function histogramQuantile(values, q) {
  const buckets = values
    .filter((v) => v.metricName?.endsWith('_bucket'))
    .map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), count: v.value }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lower;
      return lower + ((b.le - lower) * (rank - below)) / Math.max(1, b.count - below);
    }
    lower = b.le;
    below = b.count;
  }
  return lower;
}

/** CPU time (user + system, all threads of this process) in µs since `from` (a process.cpuUsage()). */
export function cpuMicros(from) {
  const d = process.cpuUsage(from);
  return d.user + d.system;
}

/** Run `fn(round)` for rounds 0..n-1 with the order of `sides` rotated every round, so no side always goes first. */
export async function alternate(rounds, sides, fn) {
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < sides.length; k++) await fn(sides[(r + k) % sides.length], r);
  }
}

export function machine() {
  return { nproc: cpus().length, cpu: cpus()[0]?.model?.trim() ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` };
}

export const round = (x, digits = 0) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

/**
 * Print the result: one JSON line with `--json`, else the human lines. `result.ratios` holds the
 * guarded figures (higher is better, measured in this run against this run's baseline).
 */
export function report(result, humanLines, json) {
  if (json) console.log(JSON.stringify(result));
  else for (const line of humanLines) console.log(line);
}

export const fmt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
