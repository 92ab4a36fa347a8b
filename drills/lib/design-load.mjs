// Design load (runbook §3): the highest rate at which shedding stays within 0.5%. Measured, not
// assumed, on the machine and in the run that uses it: a short ramp that doubles the rate until a
// step fails, then bisects between the last good and the first bad rate.
import { DEFAULT_QUEUE_DEPTH } from '@ron-audit/core';
import { BUDGET } from './drill.mjs';
import { drain, drive, sampler } from './load.mjs';
import { scrape } from './prom.mjs';

/**
 * A step passes when shedding ≤ the budget, the service answered the offered rate on time,
 * nothing but 2xx/503 came back, and the queue stayed under half full throughout (a queue still
 * filling would shed if the step were longer).
 */
function judge({ shedRatio, achievedRatio, other, errors, queueMax, depth }) {
  return shedRatio <= BUDGET && achievedRatio >= 0.95 && other === 0 && errors === 0 && queueMax < depth / 2;
}

/**
 * Over HTTP against the example service at `url`: double from `start` until a step fails, bisect
 * `refine` times, then hold the candidate for `confirmSeconds`; on a machine shared with other
 * jobs a rate that passed one short step can fail the next, so a candidate that fails its
 * confirmation is lowered by 15% and held again (at most three times).
 */
export async function httpDesignLoad(url, { start = 1000, stepSeconds = 3, confirmSeconds = 2 * stepSeconds, refine = 3, maxRate = 40_000, depth = DEFAULT_QUEUE_DEPTH, log = () => undefined } = {}) {
  const steps = [];
  const step = async (rate, seconds = stepSeconds, kind = 'ramp') => {
    await drain(url);
    const sam = sampler(url, 250);
    const s0 = await scrape(url);
    const r = await drive(url, { rate, seconds });
    const s1 = await scrape(url);
    const samples = await sam.stop();
    const appended = s1.sum('audit_appended_total') - s0.sum('audit_appended_total');
    const busy = s1.sum('busy_rejections_total') - s0.sum('busy_rejections_total');
    const m = {
      kind,
      rate,
      seconds,
      // Every request is answered (fixed amount); on time = within the step, give or take the
      // generator's own start-up (~0.3 s).
      achievedRatio: seconds / Math.max(seconds, r.seconds - 0.5),
      shedRatio: busy / Math.max(1, appended),
      queueMax: Math.max(0, ...samples.map((x) => x.sum('audit_queue_depth')), s1.sum('audit_queue_depth')),
      depth,
      other: r.other,
      errors: r.errors,
    };
    m.pass = judge(m);
    steps.push(m);
    log(`${kind} ${Math.round(rate)}/s for ${seconds} s: shed ${(m.shedRatio * 100).toFixed(2)}%, on time ${(m.achievedRatio * 100).toFixed(0)}%, queue max ${m.queueMax}/${depth} → ${m.pass ? 'ok' : 'over'}`);
    return m.pass;
  };
  // Warm the service up (JIT, first WAL segment, first export) so the first step is not judged cold.
  await drive(url, { rate: start / 2, seconds: Math.min(2, stepSeconds) });
  let good = 0;
  let bad = 0;
  for (let rate = start; rate <= maxRate; rate *= 2) {
    if (await step(rate)) good = rate;
    else {
      bad = rate;
      break;
    }
  }
  if (bad === 0) bad = maxRate * 2;
  for (let i = 0; i < refine && good > 0; i++) {
    const mid = Math.round((good + bad) / 2);
    if (await step(mid)) good = mid;
    else bad = mid;
  }
  if (good === 0) {
    // Even the first step shed: halve until one passes, so every drill has a rate to work at.
    for (let rate = start / 2; rate >= 50 && good === 0; rate /= 2) if (await step(rate)) good = rate;
  }
  for (let i = 0; i < 3 && good > 0 && confirmSeconds > 0; i++) {
    if (await step(good, confirmSeconds, 'confirm')) break;
    good = Math.round(good * 0.85);
  }
  await drain(url);
  const confirmed = steps.some((m) => m.kind === 'confirm' && m.pass && m.rate === good);
  return { designLoad: good, firstBad: bad, confirmed, steps };
}
