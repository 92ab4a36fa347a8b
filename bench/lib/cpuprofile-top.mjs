// Summarise a V8 .cpuprofile (node --cpu-prof): functions by self time, highest first.
//
//   node bench/lib/cpuprofile-top.mjs <file.cpuprofile> [--top 25] [--inclusive]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const label = (f) => {
  const where = f.url ? `${relative(process.cwd(), f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};

/**
 * Time per function (name + file:line) in ms — self time, and total time (self + callees, each
 * sample counted once per function even under recursion) — from a parsed profile.
 */
export function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) hits.set(samples[i], (hits.get(samples[i]) ?? 0) + (timeDeltas[i] ?? 0));
  const self = new Map();
  const incl = new Map();
  let total = 0;
  for (const [id, us] of hits) {
    const key = label(byId.get(id).callFrame);
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const k = label(byId.get(at).callFrame);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
  }
  return {
    total: total / 1000,
    rows: [...self].map(([fn, us]) => ({ fn, ms: us / 1000, totalMs: (incl.get(fn) ?? us) / 1000 })).sort((a, b) => b.ms - a.ms),
    inclusive: [...incl].map(([fn, us]) => ({ fn, totalMs: us / 1000 })).sort((a, b) => b.totalMs - a.totalMs),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const top = args.includes('--top') ? Number(args[args.indexOf('--top') + 1]) : 25;
  const { total, rows, inclusive } = selfTimes(JSON.parse(readFileSync(args[0], 'utf8')));
  const pct = (ms) => `${((100 * ms) / total).toFixed(1).padStart(5)}%`;
  console.log(`total sampled: ${total.toFixed(0)} ms\n\nby self time      (total)`);
  for (const r of rows.slice(0, top)) console.log(`${pct(r.ms)} ${r.ms.toFixed(0).padStart(6)} ms (${pct(r.totalMs)})  ${r.fn}`);
  if (args.includes('--inclusive')) {
    console.log('\nby total time (self + callees)');
    for (const r of inclusive.slice(0, top)) console.log(`${pct(r.totalMs)} ${r.totalMs.toFixed(0).padStart(6)} ms  ${r.fn}`);
  }
}
