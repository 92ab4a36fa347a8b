// Summarise a V8 .cpuprofile (node --cpu-prof): functions by self time, highest first.
//
//   node bench/lib/cpuprofile-top.mjs <file.cpuprofile> [--top 25]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/** Self time per function (name + file:line) in ms, and the profile's total, from a parsed profile. */
export function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) hits.set(samples[i], (hits.get(samples[i]) ?? 0) + (timeDeltas[i] ?? 0));
  const totals = new Map();
  let total = 0;
  for (const [id, us] of hits) {
    const f = byId.get(id).callFrame;
    const where = f.url ? `${relative(process.cwd(), f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    totals.set(key, (totals.get(key) ?? 0) + us);
    total += us;
  }
  return { total: total / 1000, rows: [...totals].map(([fn, us]) => ({ fn, ms: us / 1000 })).sort((a, b) => b.ms - a.ms) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const top = args.includes('--top') ? Number(args[args.indexOf('--top') + 1]) : 25;
  const { total, rows } = selfTimes(JSON.parse(readFileSync(args[0], 'utf8')));
  console.log(`total sampled: ${total.toFixed(0)} ms`);
  for (const r of rows.slice(0, top)) console.log(`${((100 * r.ms) / total).toFixed(1).padStart(5)}%  ${r.ms.toFixed(0).padStart(7)} ms  ${r.fn}`);
}
