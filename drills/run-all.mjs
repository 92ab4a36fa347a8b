#!/usr/bin/env node
// Every drill, one after the other (each in its own process: its own heap, its own time bound),
// then docs/drills/README.md with the results. `--quick` runs the CI-sized variants.
// Exit status: 0 when every drill passed, 1 otherwise.
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machine } from './lib/drill.mjs';
import { repoRoot, reportDir } from './lib/paths.mjs';

export const DRILLS = [
  { name: 'latency', script: 'latency.mjs', runbook: '§9.1; §4 "WAL p95 > 8ms sustained"' },
  { name: 'disk-full', script: 'disk-full.mjs', runbook: '§9.2; §4 "Export backlog"; §6.3' },
  { name: 'storm', script: 'storm.mjs', runbook: '§9.3; §4 "High busy_rejections_total"; §6.1' },
  { name: 'bitrot', script: 'bitrot.mjs', runbook: '§9.4; §4 "audit_verify_fail_total > 0"; §6.2' },
  { name: 'crash', script: 'crash.mjs', runbook: '§7 restore; durable acks (format §9); §4 host not ready' },
  { name: 'wal-mutation', script: 'wal-mutation.mjs', runbook: '§4 "WAL corrupt"; format §9.2 recovery rules' },
];

function runOne(d, args) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [join(repoRoot, 'drills', d.script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b) => {
      out += b;
      process.stdout.write(b);
    });
    child.on('exit', (code, signal) => resolve({ ...d, code: signal ? 3 : code, seconds: (Date.now() - started) / 1000, summary: out.split('\n').filter((l) => /^\s+(pass|FAIL)\s/.test(l)) }));
  });
}

const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith('--'));
const flags = args.filter((a) => a.startsWith('--'));
const started = new Date().toISOString();
const results = [];
for (const d of DRILLS) if (only.length === 0 || only.includes(d.name)) results.push(await runOne(d, flags));

const others = () => readdirSync(reportDir).filter((f) => f.endsWith('.md') && f !== 'README.md' && !DRILLS.some((d) => `${d.name}.md` === f));
const verdict = (r) => (r.code === 0 ? 'passed' : r.code === 3 ? '**time bound hit**' : '**failed**');
if (!flags.includes('--no-report') && only.length === 0) {
  writeFileSync(
    join(reportDir, 'README.md'),
    `# Chaos drills

The runbook's drills (§9) and the failure modes of §4, run against the example services (the crash drill: all
three; the others: the Fastify one) and the engine on this machine. Each drill is a script under \`drills/\` that is bounded in time, listens on 127.0.0.1 only, stops by
itself, and writes its report here. Regenerate all with \`pnpm drills\` (${results.reduce((a, r) => a + r.seconds, 0).toFixed(0)} s in this run), or one with
\`pnpm drill:<name>\`.

Last run: ${started}${flags.includes('--quick') ? ' (quick sizes)' : ''}; ${machine()}.

| drill | runbook | result | time | report |
| --- | --- | --- | --- | --- |
${results.map((r) => `| ${r.name} | ${r.runbook} | ${verdict(r)} | ${r.seconds.toFixed(0)} s | [${r.name}.md](${r.name}.md) |`).join('\n')}
${others().length ? `\nOther drill reports here, not produced by \`drills/run-all.mjs\`: ${others().map((f) => `[${f}](${f})`).join(', ')}.\n` : ''}`,
  );
}
console.log(`\ndrills: ${results.filter((r) => r.code === 0).length} passed, ${results.filter((r) => r.code !== 0).length} failed`);
for (const r of results) console.log(`  ${r.name.padEnd(10)} ${verdict(r).replace(/\*/g, '')} (${r.seconds.toFixed(0)} s)`);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
