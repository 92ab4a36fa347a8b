import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAudit, generateKey, ExportWriter, verifyExport } from '@ron-audit/core';
const total = Number(process.argv[2] ?? 100000);
function event(i) {
  return { action: 'POST /orders/:id', outcome: 'success', actor: { id: `user-${i % 1000}`, type: 'user' }, request_id: `req-${i}`, trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7',
    attributes: { 'http.request.method': 'POST', 'url.path': `/orders/${i}`, 'http.route': '/orders/:id', 'http.response.status_code': 201, 'client.address': '10.1.2.3', 'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36', 'http.server.request.duration': 0.0123 } };
}
const dir = process.env.DIR ?? mkdtempSync(join(tmpdir(), 'ron-prof-'));
const keys = join(dir, 'keys');
let vkey;
if (!process.env.DIR) {
  await generateKey(keys, 'bench');
  const audit = createAudit({ keystoreDir: keys, keyId: 'bench', origin: 'bench.local/x', queueDepth: 8192, memoryMaxBytes: 1024 ** 3 });
  await audit.ready();
  const notes = [];
  for (let n = 0; n < total; ) { const c = Math.min(4096, total - n); for (let k = 0; k < c; k++) audit.emit(event(n++)); await audit.flush(); notes.push(audit.checkpoint()); }
  const { records } = audit.snapshot();
  const w = await ExportWriter.open({ dir: join(dir, 'export'), every: 10000, intervalMs: 3600000 });
  let h = 0; for (const cp of notes) { w.addRecords(h, records.slice(h, cp.size)); h = cp.size; w.offerCheckpoint({ note: cp.note, size: cp.size, time: cp.time }); }
  await w.close();
  vkey = audit.verifierKey();
  await audit.close();
  console.log('DIR', dir, 'VKEY', vkey);
} else vkey = process.env.VKEY;
const t = performance.now();
const r = await verifyExport({ dir: join(dir, 'export'), keys: [vkey] });
console.log(r.ok, r.verified, Math.round(r.verified / ((performance.now() - t) / 1000)), 'rec/s');
