// Load against the example service: autocannon at a fixed overall rate (open enough that the
// service, not the generator, is the limit at the rates the drills use), and a sampler that
// scrapes /metrics on a fixed period while the load runs.
import { createRequire } from 'node:module';
import { scrape } from './prom.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

export const DEFAULT_CONNECTIONS = 100;
export const LOAD_PATH = '/products';

/**
 * Drive `rate` requests/s for `seconds`: exactly rate × seconds requests (autocannon's `amount`,
 * so every request sent is answered and counted — none is cut off in flight at the end, which
 * keeps the client's counts exactly comparable with the server's counters). Resolves the counts
 * a drill reasons about: sent, ok (2xx), shed (503), other (any other status), errors (socket
 * errors and timeouts). A run that takes 3× longer than planned is stopped (bounded).
 */
export function drive(url, { rate, seconds, connections = DEFAULT_CONNECTIONS, path = LOAD_PATH }) {
  return new Promise((resolve, reject) => {
    const amount = Math.max(1, Math.round(rate * seconds));
    const started = Date.now();
    const inst = autocannon({ url: url + path, connections, amount, overallRate: Math.max(1, Math.round(rate)), timeout: 10 }, (err, r) => {
      clearTimeout(guard);
      if (err) return reject(err);
      seconds = (Date.now() - started) / 1000;
      const codes = r.statusCodeStats ?? {};
      const count = (c) => codes[c]?.count ?? 0;
      const ok = Object.keys(codes).filter((c) => c.startsWith('2')).reduce((s, c) => s + count(c), 0);
      const shed = count('503');
      const other = Object.keys(codes).filter((c) => !c.startsWith('2') && c !== '503').reduce((s, c) => s + count(c), 0);
      resolve({ rate, seconds, sent: ok + shed + other + r.errors, ok, shed, other, errors: r.errors, timeouts: r.timeouts, codes: Object.keys(codes), achieved: (ok + shed + other) / seconds, latencyP99Ms: r.latency.p99 });
    });
    inst.on('error', () => undefined);
    const guard = setTimeout(() => inst.stop(), seconds * 3000 + 10_000);
  });
}

/** Scrape every `periodMs` until stop(); returns the scrapes (each with .at) and an optional per-sample extra. */
export function sampler(url, periodMs = 500, extra = () => ({})) {
  const samples = [];
  let stopped = false;
  let inflight = Promise.resolve();
  const tick = async () => {
    try {
      const s = await scrape(url);
      Object.assign(s, extra());
      samples.push(s);
    } catch {
      /* a missed scrape is a gap in the chart, not a failure of the drill */
    }
  };
  const timer = setInterval(() => {
    if (!stopped) inflight = tick();
  }, periodMs);
  inflight = tick();
  return {
    samples,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inflight;
      return samples;
    },
  };
}

/** Wait until the audit queue has drained (audit_queue_depth 0) or `ms` passed. */
export async function drain(url, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await scrape(url);
    if (s.sum('audit_queue_depth') === 0 || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
}
