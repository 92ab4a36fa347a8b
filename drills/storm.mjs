#!/usr/bin/env node
// Drill 3 (runbook §9.3, §4 "High busy_rejections_total", §6.1): message storm.
//
// Twice the design load for a bounded period, measured two ways:
//  - in-process, on the engine directly (Macronode: WAL + export on the local disk), where every
//    emit's outcome is known, so the drill can hold the counters to emitted = appended + dropped
//    exactly, watch the queue occupancy and the heap every 100 ms, and count unhandled rejections;
//  - over HTTP against the example service, where the shed requests are 503s with Retry-After,
//    each counted in busy_rejections_total, and every 2xx is one appended record.
// Design load (the highest rate with shedding ≤ 0.5%) is measured first, for each, in this run.
import { join } from 'node:path';
import { createAudit, generateKey, verifyExport } from '@ron-audit/core';
import { BUDGET, Checks, checksTable, cli, isMain, machine, mib, num, pct } from './lib/drill.mjs';
import { httpDesignLoad } from './lib/design-load.mjs';
import { emitAt, engineDesignLoad } from './lib/engine-load.mjs';
import { drain, drive, sampler } from './lib/load.mjs';
import { scratch } from './lib/paths.mjs';
import { ratePoints, scrape } from './lib/prom.mjs';
import { serviceEnv, startService } from './lib/service.mjs';
import { chart } from './lib/svg.mjs';

export const meta = { name: 'storm', title: 'message storm at 2× design load', maxSeconds: 300 };

export const SIZES = {
  full: { engineStorm: 20, httpStorm: 15, rampStep: 2, httpRampStep: 3, refine: 3 },
  quick: { engineStorm: 4, httpStorm: 4, rampStep: 1, httpRampStep: 2, refine: 1 },
};

async function counter(engine, name, labels = {}) {
  const m = engine.metrics.registry.getSingleMetric(name);
  const values = (await m.get()).values;
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

/** One storm at `rate` emits/s: the counters' deltas, the caller's view, queue and heap samples. */
async function stormOnce(engine, { rate, multiplier, seconds, samples, log }) {
  const before = {
    appended: await counter(engine, 'audit_appended_total'),
    backpressure: await counter(engine, 'audit_drop_total', { reason: 'audit_backpressure' }),
    busy: await counter(engine, 'busy_rejections_total', { endpoint: 'emit' }),
    heap: process.memoryUsage().heapUsed,
    rss: process.memoryUsage().rss,
  };
  log(`engine: storm at ${num(rate)}/s (${multiplier} × design) for ${seconds} s`);
  const load = await emitAt(engine, {
    rate,
    seconds,
    sampleMs: 100,
    sample: (t) => {
      const mem = process.memoryUsage();
      samples.push({ t, queue: engine.health().queue.occupancy, heap: mem.heapUsed, rss: mem.rss });
    },
  });
  await engine.flush();
  return {
    rate,
    multiplier,
    load,
    appended: (await counter(engine, 'audit_appended_total')) - before.appended,
    backpressure: (await counter(engine, 'audit_drop_total', { reason: 'audit_backpressure' })) - before.backpressure,
    busy: (await counter(engine, 'busy_rejections_total', { endpoint: 'emit' })) - before.busy,
    queueMax: Math.max(...samples.map((x) => x.queue)),
    heapBefore: before.heap,
    heapPeak: Math.max(...samples.map((x) => x.heap)),
    rssBefore: before.rss,
    rssPeak: Math.max(...samples.map((x) => x.rss)),
  };
}

export async function engineStorm({ size, log }) {
  const work = scratch('storm-engine');
  const keystoreDir = join(work.dir, 'keys');
  await generateKey(keystoreDir, 'storm');
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(String(reason));
  process.on('unhandledRejection', onUnhandled);
  const engine = createAudit({
    keystoreDir,
    keyId: 'storm',
    walEnabled: true,
    exportEnabled: true,
    walDir: join(work.dir, 'wal'),
    exportDir: join(work.dir, 'export'),
    origin: 'drill.ron-audit.local/storm',
    env: {},
  });
  try {
    await engine.ready();
    log('engine: measuring design load');
    const ramp = await engineDesignLoad(engine, { stepSeconds: size.rampStep, refine: size.refine, log: (l) => log(`engine ${l}`) });
    const design = ramp.designLoad;
    // The storm runs at 2× the design load. If it sheds nothing, the ramp ran while the machine
    // was busier than during the storm (a shared machine, or CI running other suites alongside)
    // and underestimated the design load; the storm is then repeated at twice the rate, up to
    // three times, so that the accounting is always checked under real overload. Each storm's
    // accounting is kept and checked, not only the last one's.
    const storms = [];
    let samples = [];
    for (let multiplier = 2; storms.length < 4; multiplier *= 2) {
      const rate = multiplier * design;
      globalThis.gc?.();
      samples = [];
      const s = await stormOnce(engine, { rate, multiplier, seconds: size.engineStorm, samples, log });
      storms.push(s);
      if (s.backpressure > 0) break;
      log(`engine: nothing shed at ${multiplier}× — the design load was underestimated; storming again at ${2 * multiplier}×`);
    }
    const last = storms.at(-1);
    const health = engine.health();
    const size0 = health.log.size;
    const vkey = engine.verifierKey();
    await engine.close();
    const report = await verifyExport({ dir: join(work.dir, 'export'), keys: [vkey] });
    return {
      design,
      ramp,
      rate: last.rate,
      multiplier: last.multiplier,
      storms,
      load: last.load,
      appended: last.appended,
      backpressure: last.backpressure,
      busy: last.busy,
      queueMax: Math.max(...storms.map((x) => x.queueMax)),
      depth: engine.config.queueDepth,
      memoryMaxBytes: engine.config.memoryMaxBytes,
      heapBefore: storms[0].heapBefore,
      heapPeak: Math.max(...storms.map((x) => x.heapPeak)),
      rssBefore: storms[0].rssBefore,
      rssPeak: Math.max(...storms.map((x) => x.rssPeak)),
      unhandled,
      readyAfter: health.ready,
      statusAfter: health.status,
      logSize: size0,
      verify: { ok: report.ok, size: report.size, failure: report.failure?.message },
      samples,
    };
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await engine.close().catch(() => undefined);
    work.remove();
  }
}

export async function httpStorm({ size, log }) {
  const work = scratch('storm-http');
  const svc = await startService({ dir: work.dir, env: serviceEnv(work.dir) });
  try {
    log(`http: service on ${svc.url}; measuring design load`);
    const ramp = await httpDesignLoad(svc.url, { stepSeconds: size.httpRampStep, refine: size.refine, log: (l) => log(`http ${l}`) });
    const design = ramp.designLoad;
    const rate = 2 * design;
    const t0 = Date.now();
    const s0 = await scrape(svc.url);
    const sam = sampler(svc.url, 500, () => ({ t: (Date.now() - t0) / 1000 }));
    log(`http: storm at ${num(rate)}/s (2 × ${num(design)}) for ${size.httpStorm} s`);
    const load = await drive(svc.url, { rate, seconds: size.httpStorm, connections: 200 });
    const samples = await sam.stop();
    const s1 = await drain(svc.url);
    const healthz = (await fetch(`${svc.url}/healthz`)).status;
    const alive = svc.alive;
    const stop = await svc.stop();
    return {
      design,
      ramp,
      rate,
      load,
      appended: s1.sum('audit_appended_total') - s0.sum('audit_appended_total'),
      busy: s1.sum('busy_rejections_total') - s0.sum('busy_rejections_total'),
      queueMax: Math.max(0, ...samples.map((s) => s.sum('audit_queue_depth'))),
      heapBefore: s0.sum('nodejs_heap_size_used_bytes'),
      heapPeak: Math.max(0, ...samples.map((s) => s.sum('nodejs_heap_size_used_bytes'))),
      rssPeak: Math.max(0, ...samples.map((s) => s.sum('process_resident_memory_bytes'))),
      alive,
      healthz,
      exit: { code: stop.code, signal: stop.signal },
      stderr: svc.errors().trim(),
      samples,
    };
  } finally {
    if (svc.alive) await svc.stop();
    work.remove();
  }
}

/** The in-process expectations: exact accounting, bounded queue and heap, no unhandled rejection. */
export function checkEngine(checks, e) {
  const heapBound = e.heapBefore + e.memoryMaxBytes + 64 * 1048576;
  checks.check('engine: design load measured', e.design > 0, `${num(e.design)} emits/s (first over: ${num(e.ramp.firstBad)}/s)`);
  const exact = (s) => s.load.attempts === s.appended + s.backpressure && s.load.ok === s.appended && s.load.rejected === s.backpressure && s.busy === s.backpressure && s.load.other === 0;
  const earlier = e.storms.length > 1 ? `; earlier storms at ${e.storms.slice(0, -1).map((s) => `${s.multiplier}× (${num(s.load.attempts)} = ${num(s.appended)} + ${num(s.backpressure)})`).join(', ')} exact too` : '';
  checks.check('engine: every emit accounted: emitted = appended + dropped, exactly', e.storms.every(exact), `${num(e.load.attempts)} emitted = ${num(e.appended)} appended + ${num(e.backpressure)} dropped (audit_drop_total{reason="audit_backpressure"}); busy_rejections_total{endpoint="emit"} ${num(e.busy)}; other errors ${e.load.other}${earlier}`);
  checks.check('engine: the queue stays bounded', e.queueMax <= e.depth, `max occupancy ${num(e.queueMax)} of ${num(e.depth)}`);
  checks.check('engine: the storm is shed, not absorbed (drops are real)', e.backpressure > 0, `shedding ${pct(e.backpressure / Math.max(1, e.appended))} of appended at ${e.multiplier}× design load${e.multiplier > 2 ? ' (2× shed nothing: the ramp underestimated the design load, see the storms)' : ''}`);
  checks.check('engine: heap stays bounded', e.heapPeak <= heapBound, `heap ${mib(e.heapBefore)} before, peak ${mib(e.heapPeak)} (bound: before + AUDIT_MEMORY_MAX_BYTES ${mib(e.memoryMaxBytes)} + 64 MiB); rss peak ${mib(e.rssPeak)}`);
  checks.check('engine: no unhandled rejection, no crash, still ready', e.unhandled.length === 0 && e.readyAfter, `${e.unhandled.length} unhandled rejections; status ${e.statusAfter} after the storm`);
  checks.check('engine: the exported log verifies after the storm', e.verify.ok && e.verify.size === e.logSize, `verifyExport: ${e.verify.ok ? 'ok' : e.verify.failure}, size ${num(e.verify.size)} = log ${num(e.logSize)}`);
}

/** The HTTP expectations: every request 2xx or a counted 503, bounded queue, no crash. */
export function checkHttp(checks, h) {
  checks.check('http: design load measured', h.design > 0, `${num(h.design)} requests/s (first over: ${num(h.ramp.firstBad)}/s)`);
  checks.check('http: every request answered 2xx or 503; every 503 counted, every 2xx appended', h.load.other === 0 && h.load.errors === 0 && h.load.sent === h.load.ok + h.load.shed && h.busy === h.load.shed && h.appended === h.load.ok, `${num(h.load.sent)} sent = ${num(h.load.ok)} 2xx + ${num(h.load.shed)} 503; busy_rejections ${num(h.busy)}; appended ${num(h.appended)}; other ${h.load.other}, socket errors ${h.load.errors}`);
  checks.check('http: the queue stays bounded', h.queueMax <= 4096, `max audit_queue_depth ${num(h.queueMax)} of 4096`);
  checks.check('http: no crash, no unhandled rejection', h.alive && h.healthz === 200 && h.exit.code === 0 && !/unhandled|uncaught/i.test(h.stderr), `alive through the storm, /healthz ${h.healthz}, clean exit ${h.exit.code}; stderr ${h.stderr ? JSON.stringify(h.stderr.slice(0, 200)) : 'empty'}`);
}

export async function run({ quick = false, log = () => undefined } = {}) {
  const size = quick ? SIZES.quick : SIZES.full;
  const checks = new Checks();
  const startedAt = new Date().toISOString();
  const e = await engineStorm({ size, log });
  const h = await httpStorm({ size, log });

  checkEngine(checks, e);
  checkHttp(checks, h);
  const heapBound = e.heapBefore + e.memoryMaxBytes + 64 * 1048576;

  const eSvg = chart({
    title: `Storm in-process: ${num(e.rate)} emits/s (${e.multiplier} × design ${num(e.design)}/s) for ${size.engineStorm} s`,
    xMax: size.engineStorm,
    panels: [
      { label: 'queue occupancy (reserved + waiting)', series: [{ name: 'occupancy', points: e.samples.map((s) => [s.t, s.queue]) }], hlines: [{ y: e.depth, label: `depth ${e.depth}`, color: '#555' }] },
      {
        label: 'heap used and RSS (MiB)',
        series: [
          { name: 'heapUsed', points: e.samples.map((s) => [s.t, s.heap / 1048576]) },
          { name: 'rss', points: e.samples.map((s) => [s.t, s.rss / 1048576]) },
        ],
        hlines: [{ y: heapBound / 1048576, label: 'heap bound' }],
      },
    ],
  });
  const hSvg = chart({
    title: `Storm over HTTP: ${num(h.rate)} requests/s (2 × design ${num(h.design)}/s) for ${size.httpStorm} s`,
    panels: [
      {
        label: 'per second (2 s window): appended records and 503s',
        series: [
          { name: 'appended/s', points: ratePoints(h.samples, (x) => x.sum('audit_appended_total'), 2) },
          { name: '503/s', color: '#d62728', points: ratePoints(h.samples, (x) => x.sum('busy_rejections_total'), 2) },
        ],
      },
      { label: 'audit_queue_depth', series: [{ name: 'queue', points: h.samples.map((s) => [s.t, s.sum('audit_queue_depth')]) }], hlines: [{ y: 4096, label: 'depth 4096', color: '#555' }] },
    ],
  });

  const rampText = (ramp) =>
    `${ramp.steps.map((s) => `${s.kind === 'confirm' ? 'confirm ' : ''}${num(s.rate)}/s ${s.pass ? 'ok' : `over (shed ${pct(s.shedRatio)}, queue max ${num(s.queueMax)})`}`).join('; ')}${
      ramp.confirmed ? '' : '; **unconfirmed**: no hold passed, the drill uses 85% of the last one'
    }`;
  const markdown = `# Drill: message storm

Runbook §9.3 ("2× design load for 10m → bounded queue grows, drops counted, no OOM or panics"), §4 "High
\`busy_rejections_total\`", §6.1. Generated by \`node drills/storm.mjs\` (\`pnpm drill:storm\`) on ${startedAt}; ${machine()}.
The runbook's 10 minutes are scaled down to ${size.engineStorm} s in-process and ${size.httpStorm} s over HTTP; the queue and the heap
reach their plateau within seconds (see the pictures), so a longer storm adds time, not information.

## In-process: the engine directly (exact accounting)

Macronode engine (WAL + export on the local disk, default \`AUDIT_QUEUE_DEPTH=${e.depth}\`, \`AUDIT_WAL_BATCH=32\`,
\`AUDIT_MEMORY_MAX_BYTES=${mib(e.memoryMaxBytes)}\`), \`emit()\` of ~450-byte records from a 2 ms open-loop ticker in the same process.

- **Design load: ${num(e.design)} emits/s** (ramp: ${rampText(e.ramp)}).
- **Storm: ${num(e.rate)} emits/s (${e.multiplier}× design) for ${size.engineStorm} s** — ${num(e.load.attempts)} emits in ${e.load.seconds.toFixed(1)} s.${
    e.storms.length > 1 ? ` The storm at 2× shed nothing (the ramp ran while the machine was busier and underestimated the design load), so it was repeated at twice the rate until it shed: ${e.storms.map((x) => `${x.multiplier}× shed ${num(x.backpressure)}`).join(', ')}.` : ''
  }
- **Accounting, exact:** ${num(e.load.attempts)} emitted = ${num(e.appended)} appended (\`audit_appended_total\`) + ${num(e.backpressure)} dropped
  (\`audit_drop_total{reason="audit_backpressure"}\` = \`busy_rejections_total{endpoint="emit"}\` = ${num(e.busy)} = the
  \`AUDIT_QUEUE_FULL\` errors the caller saw). Shedding at ${e.multiplier}× design load: ${pct(e.backpressure / Math.max(1, e.appended))} of appended.
- **Queue:** max occupancy ${num(e.queueMax)} of ${num(e.depth)}.
- **Heap:** ${mib(e.heapBefore)} before the storm, peak ${mib(e.heapPeak)} (×${(e.heapPeak / e.heapBefore).toFixed(1)}); RSS peak ${mib(e.rssPeak)}. The held log is
  bounded by \`AUDIT_MEMORY_MAX_BYTES\` (oldest records evicted), the queue by its depth.
- **No unhandled rejection** (${e.unhandled.length}), engine \`${e.statusAfter}\` after the storm; the export verifies (${num(e.verify.size)} records).

![storm in-process](storm-engine.svg)

## Over HTTP: the example service (the 503 view)

- **Design load: ${num(h.design)} requests/s** (ramp: ${rampText(h.ramp)}).
- **Storm: ${num(h.rate)} requests/s for ${size.httpStorm} s**, 200 connections: ${num(h.load.sent)} requests, ${num(h.load.ok)} answered 2xx, ${num(h.load.shed)}
  answered **503** \`AUDIT_SATURATED\` with \`Retry-After\` (${pct(h.load.shed / Math.max(1, h.load.sent))} of requests), ${h.load.other} other statuses, ${h.load.errors}
  socket errors. Server side: \`busy_rejections_total\` +${num(h.busy)} (= the 503s), \`audit_appended_total\` +${num(h.appended)} (= the 2xx).
- **Queue:** max \`audit_queue_depth\` ${num(h.queueMax)} of 4096. **Heap** (\`nodejs_heap_size_used_bytes\`): ${mib(h.heapBefore)} before, peak ${mib(h.heapPeak)};
  RSS peak ${mib(h.rssPeak)}. The process stayed up and exited cleanly (${h.exit.code}) on SIGTERM.

![storm over HTTP](storm-http.svg)

## Expectations

${checksTable(checks)}
`;
  const strip = ({ samples, ...rest }) => rest;
  return { checks, markdown, pictures: { 'storm-engine.svg': eSvg, 'storm-http.svg': hSvg }, figures: { engine: strip(e), http: strip(h), budget: BUDGET } };
}

if (isMain(import.meta.url)) await cli(meta, run);
