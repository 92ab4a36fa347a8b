// The Prometheus text format as far as the drills read it: parse a scrape, pick series, and
// compute histogram quantiles the way PromQL's histogram_quantile() does, over the difference
// of two scrapes (a rate window).

/** Parse an exposition into [{ name, labels, value }]. */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

export class Scrape {
  constructor(text, at = Date.now()) {
    this.at = at;
    this.series = parseMetrics(text);
  }

  /** Sum of every series of `name` whose labels include `match`. */
  sum(name, match = {}) {
    let s = 0;
    for (const x of this.series) {
      if (x.name !== name) continue;
      if (Object.entries(match).every(([k, v]) => x.labels[k] === v)) s += x.value;
    }
    return s;
  }

  /** Cumulative buckets of histogram `name`: [[le, count]] sorted by le (+Inf last). */
  buckets(name) {
    const b = new Map();
    for (const x of this.series) if (x.name === `${name}_bucket`) b.set(x.labels.le, (b.get(x.labels.le) ?? 0) + x.value);
    return [...b.entries()].map(([le, c]) => [le === '+Inf' ? Infinity : Number(le), c]).sort((a, c) => a[0] - c[0]);
  }
}

export async function scrape(baseUrl) {
  const res = await fetch(`${baseUrl}/metrics`);
  if (!res.ok) throw new Error(`GET ${baseUrl}/metrics: ${res.status}`);
  return new Scrape(await res.text());
}

/** PromQL histogram_quantile over cumulative buckets (linear interpolation inside the bucket). */
export function histogramQuantile(q, buckets) {
  if (buckets.length === 0) return NaN;
  const total = buckets[buckets.length - 1][1];
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe; // PromQL: the upper bound of the highest finite bucket
      return prevLe + (le - prevLe) * ((rank - prevCount) / Math.max(count - prevCount, 1e-12));
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

/** Bucket counts of `later` minus `earlier` (what rate() over the window sees). */
export function bucketDelta(earlier, later, name) {
  const a = new Map(earlier.buckets(name));
  return later.buckets(name).map(([le, c]) => [le, c - (a.get(le) ?? 0)]);
}

/** Quantile of a histogram between two scrapes; NaN when nothing was observed. */
export function windowQuantile(q, earlier, later, name) {
  return histogramQuantile(q, bucketDelta(earlier, later, name));
}

/**
 * Per-second rate of `value(scrape)` over a trailing window of about `windowSeconds`, one point
 * per scrape (x = scrape.t): the drills' charts. A window of several scrapes smooths the jitter of
 * a scrape answered late by a busy service.
 */
export function ratePoints(samples, value, windowSeconds = 1) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    let j = i - 1;
    while (j > 0 && (samples[i].at - samples[j].at) / 1000 < windowSeconds) j--;
    const dt = (samples[i].at - samples[j].at) / 1000;
    if (dt > 0) out.push([samples[i].t, (value(samples[i]) - value(samples[j])) / dt]);
  }
  return out;
}
