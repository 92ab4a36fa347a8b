#!/usr/bin/env node
// Drill 2 (runbook §9.2, §4 "Export backlog", §6.3): disk full.
//
// Twice — once for the export directory, once for the WAL directory — the sink's directory is a
// small real filesystem (a 2 MiB tmpfs when this machine allows mounting; else a loop-mounted
// image; else the engine's fault seam failing writes under that directory with ENOSPC, and the
// report says which) that the example service fills while it takes load. Expected: the host keeps
// serving; the audit trail degrades to amnesia for that sink; readiness (status "degraded") and
// metrics (audit_degraded{sink} = 1) say so; after space returns, a restart recovers and
// `ronctl audit verify` passes.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Checks, checksTable, cli, isMain, machine, num } from './lib/drill.mjs';
import { drain, drive, sampler } from './lib/load.mjs';
import { scratch } from './lib/paths.mjs';
import { ratePoints, scrape } from './lib/prom.mjs';
import { ronctl } from './lib/ronctl.mjs';
import { get, serviceEnv, startService } from './lib/service.mjs';
import { chart } from './lib/svg.mjs';
import { smallVolume } from './lib/volume.mjs';

export const meta = { name: 'disk-full', title: 'disk full on the export volume, then on the WAL volume', maxSeconds: 240 };

export const VOLUME_KIB = 2048;
const SIZES = {
  full: { rate: 1000, fillSeconds: 30, degradedSeconds: 6, afterSeconds: 2 },
  quick: { rate: 800, fillSeconds: 20, degradedSeconds: 2, afterSeconds: 1 },
};

/**
 * One sink's scenario. `mechanism`: 'auto' (a real small filesystem if possible) or 'seam'.
 */
async function scenario(sink, { size, mechanism, log }) {
  const work = scratch(`disk-full-${sink}`);
  const volumeDir = join(work.dir, sink);
  const faultFile = join(work.dir, 'fault');
  const vol = mechanism === 'seam' ? { kind: 'none', why: 'the seam was asked for' } : smallVolume(volumeDir, VOLUME_KIB);
  const how = vol.kind === 'none' ? `the engine's fault seam (withFaults: every write under ${sink}/ fails with ENOSPC from t=2 s; ${vol.why})` : vol.describe;
  log(`${sink}: volume = ${how}`);
  // Publish often, so the export writes (and fills its volume) within seconds.
  const env = serviceEnv(work.dir, { AUDIT_CHECKPOINT_EVERY: '256', AUDIT_CHECKPOINT_INTERVAL_MS: '500', RON_AUDIT_DRILL_FAULT_FILE: faultFile, LOG_LEVEL: 'warn' });
  const r = { sink, workDir: work.dir, mechanism: vol.kind === 'none' ? 'seam' : vol.kind, how: how.split(work.dir).join('$DRILL') };
  let svc = await startService({ dir: work.dir, env });
  try {
    const t0 = Date.now();
    const sam = sampler(svc.url, 250, () => ({ t: (Date.now() - t0) / 1000 }));
    if (vol.kind === 'none') setTimeout(() => writeFileSync(faultFile, `ENOSPC ${volumeDir}\n`), 2000);
    // Load until the sink has degraded, then a few seconds more: the host must keep serving.
    let degradedAt;
    const watch = (async () => {
      const deadline = Date.now() + size.fillSeconds * 1000;
      while (Date.now() < deadline) {
        const s = await scrape(svc.url);
        if (s.sum('audit_degraded', { sink }) === 1) return (degradedAt = (Date.now() - t0) / 1000);
        await new Promise((res) => setTimeout(res, 100));
      }
      return undefined;
    })();
    const loads = [];
    const s0 = await scrape(svc.url);
    while (degradedAt === undefined && (Date.now() - t0) / 1000 < size.fillSeconds) loads.push(await drive(svc.url, { rate: size.rate, seconds: 1 }));
    await watch;
    const before = await get(svc.url, '/readyz');
    const sDeg = await scrape(svc.url);
    const during = await drive(svc.url, { rate: size.rate, seconds: size.degradedSeconds });
    loads.push(during);
    const sAfter = await drain(svc.url);
    const readyDegraded = await get(svc.url, '/readyz');
    const samples = await sam.stop();
    r.degradedAt = degradedAt;
    r.readyz = readyDegraded;
    r.readyzAtDegrade = before;
    r.degradedMetric = sAfter.sum('audit_degraded', { sink });
    r.otherSinkMetric = sAfter.sum('audit_degraded', { sink: sink === 'wal' ? 'export' : 'wal' });
    r.logLine = new RegExp(`audit\\.degraded=${sink} reason=(\\w+)`).exec(svc.output() + svc.errors())?.[0];
    r.sent = loads.reduce((a, l) => a + l.sent, 0);
    r.ok = loads.reduce((a, l) => a + l.ok, 0);
    r.shed = loads.reduce((a, l) => a + l.shed, 0);
    r.other = loads.reduce((a, l) => a + l.other + l.errors, 0);
    r.duringOk = during.ok;
    r.duringSent = during.sent;
    r.appendedWhileDegraded = sAfter.sum('audit_appended_total') - sDeg.sum('audit_appended_total');
    r.appended = sAfter.sum('audit_appended_total') - s0.sum('audit_appended_total');
    r.exportAge = { atDegrade: sDeg.sum('audit_export_checkpoint_age_seconds'), after: sAfter.sum('audit_export_checkpoint_age_seconds'), wallSeconds: (sAfter.at - sDeg.at) / 1000 };
    r.samples = samples;

    // Space returns; the running engine stays in amnesia for the sink until a restart (by design).
    const grown = vol.kind === 'none' ? (rmSync(faultFile, { force: true }), true) : vol.grow(64 * 1024);
    r.spaceReturned = grown;
    await new Promise((res) => setTimeout(res, 300));
    r.stillDegradedBeforeRestart = (await scrape(svc.url)).sum('audit_degraded', { sink }) === 1;
    const stop1 = await svc.stop();
    r.firstStop = { code: stop1.code, signal: stop1.signal };
    log(`${sink}: degraded at t=${degradedAt?.toFixed(1)} s; ${num(r.appendedWhileDegraded)} records appended while degraded; restarting`);

    svc = await startService({ dir: work.dir, env });
    const restarted = await get(svc.url, '/readyz');
    r.restartReadyz = restarted;
    const more = await drive(svc.url, { rate: size.rate, seconds: size.afterSeconds });
    const s2 = await drain(svc.url);
    r.afterRestartOk = more.ok;
    r.afterRestartOther = more.other + more.errors + more.shed;
    r.degradedAfterRestart = s2.sum('audit_degraded', { sink });
    r.restartLog = svc.errors().split('\n').find((l) => /AUDIT_ROLLBACK|AUDIT_WAL|reason=/.test(l));
    const stop2 = await svc.stop();
    r.verifierKey = stop2.verifierKey;
    r.finalSize = Number(/final checkpoint size=(\d+)/.exec(svc.output())?.[1] ?? NaN);
    // The second run appended exactly its 2xx requests, so the rest of the final size is what the restart recovered.
    r.recovered = r.finalSize - r.afterRestartOk;
    r.lost = r.appended - r.recovered;
    if (r.verifierKey) {
      r.verify = await ronctl(['audit', 'verify', '--export-dir', join(work.dir, 'export'), '--wal-dir', join(work.dir, 'wal'), '--key', r.verifierKey]);
      r.verify.command = r.verify.command.split(work.dir).join('$DRILL');
    }
    return r;
  } finally {
    if (svc.alive) await svc.stop();
    if (vol.kind !== 'none') vol.unmount();
    work.remove();
  }
}

export async function run({ quick = false, mechanism = 'auto', argv = [], log = () => undefined } = {}) {
  if (argv.includes('--seam')) mechanism = 'seam';
  const size = quick ? SIZES.quick : SIZES.full;
  const checks = new Checks();
  const startedAt = new Date().toISOString();
  const results = [];
  for (const sink of ['export', 'wal']) results.push(await scenario(sink, { size, mechanism, log }));

  for (const r of results) {
    const S = r.sink;
    checks.check(`${S}: the sink hits ENOSPC and degrades`, r.degradedAt !== undefined && r.logLine?.includes('ENOSPC'), `audit_degraded{sink="${S}"}=1 at t=${r.degradedAt?.toFixed(1)} s; log "${r.logLine ?? 'none'}"`);
    checks.check(`${S}: readiness and metrics say so`, r.readyz.status === 200 && r.readyz.body?.status === 'degraded' && r.degradedMetric === 1 && r.otherSinkMetric === 0, `/readyz ${r.readyz.status} ${JSON.stringify({ status: r.readyz.body?.status, reasons: r.readyz.body?.reasons?.map((x) => x.code) })}; audit_degraded{sink="${S}"}=${r.degradedMetric}`);
    checks.check(`${S}: the host keeps serving (no error, no crash) and keeps auditing in memory`, r.duringOk === r.duringSent && r.other === 0 && r.appendedWhileDegraded >= r.duringOk, `${num(r.duringOk)}/${num(r.duringSent)} requests 2xx while degraded, ${num(r.appendedWhileDegraded)} records appended meanwhile; ${r.other} errors overall`);
    checks.check(`${S}: after space returns, a restart is ready and no longer degraded`, r.spaceReturned && r.restartReadyz.status === 200 && r.restartReadyz.body?.status === 'ready' && r.degradedAfterRestart === 0 && r.afterRestartOk > 0 && r.afterRestartOther === 0, `/readyz ${r.restartReadyz.status} ${JSON.stringify(r.restartReadyz.body?.status ?? r.restartReadyz.body)}; audit_degraded=${r.degradedAfterRestart}; ${num(r.afterRestartOk)} requests served after restart${r.restartLog ? `; log: ${r.restartLog.slice(0, 200)}` : ''}`);
    if (S === 'export') checks.check('export: no record lost (the WAL kept them; the restart caught the export up)', r.lost === 0, `${num(r.appended)} appended in the first run, ${num(r.recovered)} recovered`);
    checks.check(`${S}: ronctl audit verify passes after the restart`, r.verify?.code === 0, `${r.verify ? `exit ${r.verify.code}: ${r.verify.stdout.split('\n')[0]}` : 'no verifier key (service did not stop cleanly)'}`);
  }

  const pictures = {};
  for (const r of results) {
    const s = r.samples;
    pictures[`disk-full-${r.sink}.svg`] = chart({
      title: `Disk full on the ${r.sink} volume (${r.mechanism}): the host keeps serving, audit degrades to amnesia`,
      xMax: Math.ceil(s[s.length - 1]?.t ?? 1),
      bands: r.degradedAt !== undefined ? [{ from: r.degradedAt, to: s[s.length - 1]?.t ?? r.degradedAt, label: `${r.sink} degraded (ENOSPC)` }] : [],
      panels: [
        { label: 'records appended per second (1 s window): auditing goes on', series: [{ name: 'appended/s', points: ratePoints(s, (x) => x.sum('audit_appended_total'), 1) }] },
        { label: `audit_degraded{sink="${r.sink}"}`, yMax: 1, series: [{ name: 'degraded', color: '#d62728', points: s.map((x) => [x.t, x.sum('audit_degraded', { sink: r.sink })]) }] },
        { label: 'audit_export_checkpoints_total (published)', series: [{ name: 'published', points: s.map((x) => [x.t, x.sum('audit_export_checkpoints_total')]) }] },
      ],
    });
  }

  const row = (r) =>
    `| ${r.sink} | ${r.mechanism} | ${r.degradedAt?.toFixed(1) ?? '–'} s | ${r.readyz.status} \`${r.readyz.body?.status}\` | ${r.degradedMetric} | ${num(r.duringOk)}/${num(r.duringSent)} | ${num(r.appendedWhileDegraded)} | ${r.restartReadyz.status} \`${r.restartReadyz.body?.status ?? '?'}\` | ${num(r.recovered)} / ${num(r.appended)} | ${r.verify ? `exit ${r.verify.code}` : '–'} |`;
  const verifyLines = results.map((r) => `\`\`\`\n$ ${r.verify?.command.replace(/--key \S+/, '--key "$VKEY"') ?? '(not run)'}\n${(r.verify?.stdout ?? '').trim()}\n\`\`\``).join('\n\n');
  const exp = results.find((x) => x.sink === 'export');
  const wal = results.find((x) => x.sink === 'wal');
  const markdown = `# Drill: disk full

Runbook §9.2 ("quota the export volume; host goes degraded (amnesia) without crashing; alerts fire"), §4
"Export backlog", §6.3. Generated by \`node drills/disk-full.mjs\` (\`pnpm drill:disk-full\`) on ${startedAt}; ${machine()}.

**Mechanism.** Export: ${exp.how}. WAL: ${wal.how}. ${
    results.every((r) => r.mechanism === 'tmpfs')
      ? 'Both are real filesystems that run out of space: the kernel answers ENOSPC (possibly after a short write), not an injected error.'
      : 'Where no real small filesystem could be mounted, the fault seam fails writes under the directory with ENOSPC before any byte is written — cleaner than a real short write.'
  }

**Set-up.** The Fastify example (Macronode, \`AUDIT_CHECKPOINT_EVERY=256\`, \`AUDIT_CHECKPOINT_INTERVAL_MS=500\` so that the
export publishes often) takes \`GET /products\` at ${num(quick ? SIZES.quick.rate : SIZES.full.rate)} requests/s until the sink degrades, then
${quick ? SIZES.quick.degradedSeconds : SIZES.full.degradedSeconds} s more. Space then returns (${results.some((r) => r.mechanism === 'tmpfs') ? 'the tmpfs is remounted at 64 MiB' : results.some((r) => r.mechanism === 'loop') ? 'the files move to the underlying disk' : 'the fault file is removed'}), the service is
restarted (SIGTERM, start), takes ${quick ? SIZES.quick.afterSeconds : SIZES.full.afterSeconds} s more load, stops cleanly, and \`ronctl audit verify\` checks the export
against its verifier key and the WAL (\`--wal-dir\`).

| volume full | mechanism | degraded at | /readyz while degraded | audit_degraded | 2xx while degraded | appended while degraded | /readyz after restart | recovered / appended | verify |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${results.map(row).join('\n')}

![export volume full](disk-full-export.svg)

![WAL volume full](disk-full-wal.svg)

${verifyLines}

## What an operator sees

- One log line per fault: ${results.map((r) => `\`${r.logLine ?? '?'}\``).join(' and ')}.
- \`/readyz\` stays **200** (a failed sink must not take the host out of service) with \`"status":"degraded"\` and the
  reason code (\`AUDIT_EXPORT_FAILED\` / \`AUDIT_WAL_FAILED\`); \`audit_degraded{sink}\` is 1 for the failed sink only — the
  "degraded sink" alert (ops/prometheus/alerts.yml) fires on it.
- The engine does not leave amnesia by itself when space returns (audit_degraded stayed 1 after space returned:
  export ${exp.stillDegradedBeforeRestart}, WAL ${wal.stillDegradedBeforeRestart}): the runbook's step is the restart.
- WAL volume full: records appended while the WAL was down lived in memory only; the restart recovered the
  ${num(wal.recovered)} durable records of ${num(wal.appended)} appended (**${num(wal.lost)} lost to amnesia**, as documented: they were never
  acknowledged as durable — \`emitDurable\` / durable writes answer \`AUDIT_NOT_DURABLE\` meanwhile)${
    wal.verify?.code === 0 ? ', the log continues from the last durable record, and the export verifies.' : '; **the restart did not recover cleanly**.'
  } The export stopped at the last durable record too (it must never be ahead of the WAL: before the fix
  found by this drill, it kept publishing and the restart refused to start with \`AUDIT_ROLLBACK\`, every audited
  route answering 503).
- Export volume full: no record was lost — the WAL kept every one, and the restart brought the export up to the log.
- \`audit_export_checkpoint_age_seconds\` after the export failed: ${exp.exportAge.atDegrade.toFixed(1)} s at the fault, ${exp.exportAge.after.toFixed(1)} s
  ${exp.exportAge.wallSeconds.toFixed(1)} s later${exp.exportAge.after - exp.exportAge.atDegrade < exp.exportAge.wallSeconds / 2 ? ' — the gauge **stops updating** once the export sink is dropped (it keeps its last value), so the staleness alert cannot see a failed export; the degraded-sink alert does' : ' (it keeps growing, so the staleness alert fires too)'}.

## Expectations

${checksTable(checks)}
`;
  const clean = results.reduce((m, r) => m.split(r.workDir).join('$DRILL'), markdown);
  return { checks, markdown: clean, pictures, figures: results.map(({ samples, ...r }) => r) };
}

if (isMain(import.meta.url)) await cli(meta, run);
