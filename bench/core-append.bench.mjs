// bench/core-append: records/s through the in-memory pipeline (build → canonicalize → BLAKE3 chain
// → RFC 6962 tree → one signed checkpoint per batch), against plain JSON.stringify of the same
// events measured in the same run. Prints the ratio. Not a test: it asserts nothing.
//
//   node bench/core-append.bench.mjs [--seconds 5] [--json]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAudit, generateKey } from '@ron-audit/core';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1]) || 5;
const json = args.includes('--json');

function event(i) {
  return {
    action: 'POST /orders/:id',
    outcome: 'success',
    actor: { id: `user-${i % 1000}`, type: 'user' },
    request_id: `req-${i}`,
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
    attributes: {
      'http.request.method': 'POST',
      'url.path': `/orders/${i}`,
      'http.route': '/orders/:id',
      'http.response.status_code': 201,
      'client.address': '10.1.2.3',
      'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
      'http.server.request.duration': 0.0123,
    },
  };
}

async function runBaseline(ms) {
  const t0 = performance.now();
  let n = 0;
  let sink = 0;
  while (performance.now() - t0 < ms) {
    for (let k = 0; k < 1000; k++) sink += JSON.stringify({ ...event(n++), seq: n, prev: 'x'.repeat(64), v: 1 }).length;
  }
  return { rate: n / ((performance.now() - t0) / 1000), sink };
}

async function runAudit(ms, dir) {
  const audit = createAudit({ keystoreDir: dir, keyId: 'bench', origin: 'bench.local/core-append', queueDepth: 8192, memoryMaxBytes: 256 * 1024 * 1024 });
  await audit.ready();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    for (let k = 0; k < 4096; k++) audit.emit(event(n++));
    await audit.flush();
  }
  const rate = n / ((performance.now() - t0) / 1000);
  const checkpoints = audit.checkpoint()?.size;
  await audit.close();
  return { rate, appended: checkpoints };
}

const dir = mkdtempSync(join(tmpdir(), 'ron-bench-'));
await generateKey(dir, 'bench');
// Warm up both, then alternate so drift hits both sides alike.
await runBaseline(300);
await runAudit(300, dir);
const base = [];
const aud = [];
const heap = [];
for (let round = 0; round < 3; round++) {
  base.push((await runBaseline((seconds * 1000) / 6)).rate);
  aud.push((await runAudit((seconds * 1000) / 6, dir)).rate);
  heap.push(process.memoryUsage().heapUsed);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result = {
  bench: 'core-append',
  baseline_records_per_s: Math.round(median(base)),
  audit_records_per_s: Math.round(median(aud)),
  ratio: median(aud) / median(base),
  heap_used_mb: heap.map((h) => Math.round(h / 1e6)),
};
if (json) console.log(JSON.stringify(result));
else {
  console.log(`baseline JSON.stringify : ${result.baseline_records_per_s.toLocaleString()} records/s`);
  console.log(`audit pipeline          : ${result.audit_records_per_s.toLocaleString()} records/s`);
  console.log(`ratio audit/baseline    : ${result.ratio.toFixed(3)}`);
  console.log(`heap after each round   : ${result.heap_used_mb.join(' / ')} MB`);
}
