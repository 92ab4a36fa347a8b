// bench/results/latest.json → the Markdown results block of README.md and docs/performance.md.
// Pure functions: run-all.mjs writes the files, and a test can feed fixtures.

export const START_MARKER = '<!-- bench-results:start -->';
export const END_MARKER = '<!-- bench-results:end -->';

const n0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const r3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const yes = (ok) => (ok === undefined ? '—' : ok ? 'yes' : '**no**');

const FRAMEWORK = { 'http-fastify': 'Fastify', 'http-express': 'Express', 'http-nest-express': 'Nest on Express', 'http-nest-fastify': 'Nest on Fastify' };

/** One summary row per headline figure: [scenario, measured, same-run baseline, ratio, target, met]. */
function rows(r) {
  if (r.error) return [[r.bench, `failed: ${r.error.split(';')[0]}`, '', '', '', '**no**']];
  switch (r.bench) {
    case 'core-append': {
      const out = [];
      if (r.audit_records_per_s !== undefined) {
        out.push([
          'core-append: in-memory pipeline, records/s',
          `${n0(r.audit_records_per_s)} (${r.audit_cpu_us_per_record} CPU µs/record)`,
          `JSON.stringify ${n0(r.baseline_records_per_s)}`,
          r3(r.ratios['audit/json']),
          '≥ 300,000 records/s',
          yes(r.meets_target),
        ]);
      }
      if (r.soak) {
        // From a quarter of the soak on, the memory bound has filled: that is the plateau to judge.
        const late = r.soak.heap.filter((h) => h.t >= r.soak.seconds / 4).map((h) => h.total_mb);
        out.push([
          `core-append: heap over a ${r.soak.seconds} s soak`,
          `${Math.min(...late)}–${Math.max(...late)} MB from ${r.soak.seconds / 4} s on, ${r.soak.heap.at(-1).total_mb} MB at the end (heap + buffers after GC; bound ${r.soak.memory_max_mb} MB of records)`,
          '',
          '',
          'flat',
          yes(r.soak.flat),
        ]);
      }
      return out;
    }
    case 'wal-commit':
      return r.batches.map((b) => [
        `wal-commit: durable records/s, AUDIT_WAL_BATCH=${b.batch}`,
        `${n0(b.wal_records_per_s)} (p95 wal_fsync ${b.p95_wal_fsync_ms} ms)`,
        `raw write+fdatasync ${n0(b.raw_records_per_s)} (p95 ${b.p95_raw_fdatasync_ms} ms)`,
        r3(b.ratio_wal_raw),
        '≥ 0.8×, p95 ≤ 2 ms',
        yes(b.meets_target),
      ]);
    case 'pq-sign':
      return r.profiles.map((p) => [
        `pq-sign: ML-DSA-44 on, ${p.profile === 'micronode' ? 'Micronode' : 'Macronode'} (checkpoint / ${p.records_per_checkpoint} records)`,
        `${n0(p.pq_records_per_s)} records/s (+${p.added_cpu_us_per_record} CPU µs/record)`,
        `Ed25519 only ${n0(p.off_records_per_s)}`,
        r3(p.ratio_pq_off),
        '—',
        '—',
      ]);
    case 'export-verify':
      return [
        [
          `export-verify: full verification, ${n0(r.records)} records`,
          `${n0(r.verify_full_records_per_s)} records/s`,
          `read + split bundles ${n0(r.baseline_read_decode_records_per_s)}`,
          r3(r.ratio_full_to_baseline),
          `≥ ${n0(r.target_records_per_s)} records/s`,
          yes(r.verify_full_records_per_s >= r.target_records_per_s),
        ],
        ...(r.workers_records_per_s === undefined
          ? []
          : [
              [
                `export-verify: ${r.workers} bundle workers vs one thread, ${n0(r.records)} records`,
                `${n0(r.workers_records_per_s)} records/s (${r.workers_cpu_us_per_record} CPU µs/record)`,
                `workers: 0 ${n0(r.single_thread_records_per_s)} (${r.single_thread_cpu_us_per_record} CPU µs/record)`,
                r3(r.ratio_workers_to_single),
                `≥ ${n0(r.target_records_per_s)} records/s`,
                yes(r.workers_records_per_s >= r.target_records_per_s),
              ],
            ]),
      ];
    case 'example-load':
      return r.byConnections.flatMap((c) => [
        [
          `example-load: examples/fastify-app Micronode, -c ${c.connections}, one core`,
          `ratio ${r3(c.micronodeRatio)} (+${c.addedCpuUs.micronode} server CPU µs/response, ${c.micronodeMaxShedPct} % 503)`,
          `AUDIT_ENABLED=false (${c.cpuUsPerResponse.plain} CPU µs/response)`,
          r3(c.micronodeRatio),
          '—',
          '—',
        ],
        [
          `example-load: examples/fastify-app Macronode (default config), -c ${c.connections}, one core`,
          `ratio ${r3(c.macronodeRatio)} (+${c.addedCpuUs.macronode} server CPU µs/response, ${c.macronodeMaxShedPct} % 503${r.everyOkRecorded ? ', every 2xx recorded' : ', **2xx without a record**'})`,
          `AUDIT_ENABLED=false`,
          r3(c.macronodeRatio),
          '≤ 0.5 % 503, within 0.05 of Micronode',
          yes(c.met && r.everyOkRecorded && r.macronodeExportsVerified),
        ],
      ]);
    default: {
      const name = FRAMEWORK[r.bench];
      if (!name || !r.modes) return [[r.bench, 'unknown result shape', '', '', '', '—']];
      const plain = r.modes.find((m) => m.mode === 'plain');
      const micro = r.modes.find((m) => m.mode === 'micronode');
      return r.modes
        .filter((m) => m.mode !== 'plain')
        .map((m) => [
          `${name}, ${m.mode === 'micronode' ? 'Micronode' : 'Macronode (WAL + export)'}: req/s`,
          `${n0(m.requests_per_s)} (+${m.added_cpu_us_per_request} server CPU µs/req${m.non_2xx ? `, ${n0(m.non_2xx)} non-2xx` : ''})`,
          `plain ${n0(plain.requests_per_s)}`,
          r3(m.ratio_to_plain),
          m.mode === 'micronode' ? `≥ ${r.target_ratio}×` : 'within 0.05 of Micronode',
          yes(m.mode === 'micronode' ? m.ratio_to_plain >= r.target_ratio : micro.ratio_to_plain - m.ratio_to_plain <= 0.05 && m.non_2xx === 0),
        ]);
    }
  }
}

function table(header, body) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...body.map(line)].join('\n');
}

/** Per-bench detail tables (docs/performance.md only). */
function details(results) {
  const out = [];
  for (const r of results) {
    if (r.error) continue;
    if (r.bench === 'core-append' && r.soak) {
      out.push(`**core-append soak** (${r.soak.seconds} s, ${n0(r.soak.records)} records at ${n0(r.soak.records_per_s)}/s, memory bound ${r.soak.memory_max_mb} MB), heap + buffers after a full GC:`);
      out.push('', table(['t (s)', ...r.soak.heap.map((h) => String(h.t))], [['MB', ...r.soak.heap.map((h) => String(h.total_mb))]]), '');
    }
    if (r.bench === 'wal-commit') {
      out.push(`**wal-commit** (${r.rounds} alternating rounds of ${r.round_ms} ms):`, '');
      out.push(
        table(
          ['batch', 'WAL records/s', 'raw records/s', 'raw, preallocated', 'WAL/raw', 'WAL/preallocated', 'p95 wal_fsync_seconds', 'p95 raw fdatasync'],
          r.batches.map((b) => [b.batch, n0(b.wal_records_per_s), n0(b.raw_records_per_s), n0(b.raw_prealloc_records_per_s), r3(b.ratio_wal_raw), r3(b.ratio_wal_prealloc), `${b.p95_wal_fsync_ms} ms`, `${b.p95_raw_fdatasync_ms} ms`]),
        ),
        '',
      );
    }
    if (r.bench === 'pq-sign') {
      out.push(`**pq-sign** (${r.rounds} alternating rounds of ${r.round_ms} ms):`, '');
      out.push(
        table(
          ['profile', 'records / checkpoint', 'Ed25519 records/s', '+ ML-DSA-44 records/s', 'ratio', 'CPU µs/record off → on', 'added CPU µs / checkpoint'],
          r.profiles.map((p) => [p.profile, p.records_per_checkpoint, n0(p.off_records_per_s), n0(p.pq_records_per_s), r3(p.ratio_pq_off), `${p.off_cpu_us_per_record} → ${p.pq_cpu_us_per_record}`, n0(p.added_cpu_us_per_checkpoint)]),
        ),
        '',
      );
    }
    if (r.modes) {
      out.push(`**${r.bench}** (GET /orders/42, ${r.connections} connections, ${r.rounds} alternating rounds of ${r.round_seconds} s):`, '');
      out.push(
        table(
          ['mode', 'req/s', 'ratio', 'server CPU µs/req', 'server CPU use', 'p99 ms', 'non-2xx', 'records / checkpoint'],
          r.modes.map((m) => [m.mode, n0(m.requests_per_s), r3(m.ratio_to_plain), m.server_cpu_us_per_request, `${Math.round(m.server_cpu_utilisation * 100)} %`, m.p99_ms, n0(m.non_2xx), m.records_per_checkpoint ?? '—']),
        ),
        '',
      );
    }
  }
  return out.join('\n');
}

/** The generated block: provenance line, summary table, and (detail) the per-bench tables. */
export function resultsMarkdown(latest, { detail = false } = {}) {
  const m = latest.machine;
  const head =
    `Measured ${latest.generated.slice(0, 10)} with \`${latest.command}\` (${latest.mode} mode)${latest.git ? ` at ${latest.git.commit}${latest.git.packages_dirty ? ' (packages with uncommitted changes)' : ''}` : ''} on ${m.nproc} cores (${m.cpu}), Node ${m.node}, ` +
    `load average ${m.load_average_start?.[0] ?? '?'} at the start — a machine shared with other jobs, so read the ratios, not the absolute numbers. ` +
    `Raw data: \`bench/results/latest.json\`.`;
  const body = table(['scenario', 'measured', 'baseline (same run)', 'ratio', 'target', 'met'], latest.results.flatMap(rows));
  return [head, '', body, ...(detail ? ['', details(latest.results)] : [])].join('\n').trimEnd();
}

/** Replace what is between the markers (keeping them); throws when a file lacks them. */
export function replaceBetweenMarkers(text, block, file = 'file') {
  const a = text.indexOf(START_MARKER);
  const b = text.indexOf(END_MARKER);
  if (a < 0 || b < a) throw new Error(`${file} has no ${START_MARKER} … ${END_MARKER} block`);
  return `${text.slice(0, a + START_MARKER.length)}\n${block}\n${text.slice(b)}`;
}
