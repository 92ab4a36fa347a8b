// Load on an engine in-process: emit() at a fixed rate (open loop: a tick that runs late emits
// the backlog at once, as a burst of traffic would), with every outcome counted, so that the
// drill can hold the engine's counters to emitted = appended + dropped exactly.
import { BUDGET } from './drill.mjs';

export const TICK_MS = 2;

/** A record the size of what an adapter writes for a small GET (≈ 450 canonical bytes). */
export function httpLikeEvent(i) {
  return {
    action: 'http.request',
    outcome: 'success',
    actor: { id: `user-${i % 1000}`, type: 'user' },
    target: { type: 'route', id: '/products' },
    attributes: { 'http.method': 'GET', 'http.status_code': 200, 'http.route': '/products', 'client.address': '127.0.0.1', i },
  };
}

/**
 * Emit `rate`/s for `seconds`. Resolves { attempts, ok, rejected, other, seconds, otherCodes }.
 * `every(ms, fn)` samples alongside (the engine's own timers keep running between ticks).
 */
export async function emitAt(engine, { rate, seconds, sample, sampleMs = 100 }) {
  const total = Math.round(rate * seconds);
  const t0 = performance.now();
  let attempts = 0;
  let ok = 0;
  let rejected = 0;
  let other = 0;
  const otherCodes = new Set();
  let nextSample = 0;
  while (attempts < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - t0) / 1000) * rate));
    for (; attempts < due; attempts++) {
      try {
        engine.emit(httpLikeEvent(attempts));
        ok++;
      } catch (err) {
        if (err?.code === 'AUDIT_QUEUE_FULL') rejected++;
        else {
          other++;
          otherCodes.add(err?.code ?? String(err));
        }
      }
    }
    if (sample && now - t0 >= nextSample) {
      sample((now - t0) / 1000);
      nextSample += sampleMs;
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  return { rate, attempts, ok, rejected, other, otherCodes: [...otherCodes], seconds: (performance.now() - t0) / 1000 };
}

/**
 * The engine's design load: doubling from `start` until a step sheds over the budget, falls
 * behind, or fills the queue past half; bisect; confirm by holding the candidate twice as long
 * (lowered by 15% up to three times if it does not hold).
 */
export async function engineDesignLoad(engine, { start = 2000, stepSeconds = 2, refine = 3, maxRate = 400_000, log = () => undefined } = {}) {
  const depth = engine.config.queueDepth;
  const steps = [];
  const step = async (rate, seconds = stepSeconds, kind = 'ramp') => {
    await engine.flush();
    let queueMax = 0;
    const r = await emitAt(engine, { rate, seconds, sample: () => (queueMax = Math.max(queueMax, engine.health().queue.occupancy)), sampleMs: 20 });
    const m = { kind, rate, seconds, shedRatio: r.rejected / Math.max(1, r.ok), onTime: seconds / Math.max(seconds, r.seconds - 0.05), queueMax, depth, other: r.other };
    m.pass = m.shedRatio <= BUDGET && m.onTime >= 0.95 && m.queueMax < depth / 2 && m.other === 0;
    steps.push(m);
    log(`${kind} ${Math.round(rate)}/s for ${seconds} s: shed ${(m.shedRatio * 100).toFixed(2)}%, on time ${(m.onTime * 100).toFixed(0)}%, queue max ${queueMax}/${depth} → ${m.pass ? 'ok' : 'over'}`);
    return m.pass;
  };
  await emitAt(engine, { rate: start / 2, seconds: 1 }); // warm-up (JIT, first WAL segment)
  let good = 0;
  let bad = 0;
  for (let rate = start; rate <= maxRate; rate *= 2) {
    if (await step(rate)) good = rate;
    else {
      bad = rate;
      break;
    }
  }
  for (let i = 0; i < refine && good > 0; i++) {
    const mid = Math.round((good + bad) / 2);
    if (await step(mid)) good = mid;
    else bad = mid;
  }
  for (let rate = start / 2; good === 0 && rate >= 100; rate /= 2) if (await step(rate)) good = rate;
  for (let i = 0; i < 3 && good > 0; i++) {
    if (await step(good, stepSeconds * 2, 'confirm')) break;
    good = Math.round(good * 0.85);
  }
  await engine.flush();
  const confirmed = steps.some((m) => m.kind === 'confirm' && m.pass && m.rate === good);
  return { designLoad: good, firstBad: bad, confirmed, steps };
}
