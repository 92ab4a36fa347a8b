import { prepareEvent, recordLeafInput, uuidv7 } from '../packages/core/dist/esm/record/record.js';
import { createRedactor } from '../packages/core/dist/esm/record/redact.js';
import { createFastBackend } from '../packages/core/dist/esm/log/hash-fast.js';
import { setHashBackend, recordHash, leafHashOfInput } from '../packages/core/dist/esm/log/hash.js';
import { RetainedTree } from '../packages/core/dist/esm/log/tree.js';
import { toHex } from '../packages/core/dist/esm/log/hex.js';
setHashBackend(await createFastBackend());
const r = createRedactor(undefined);
const ev = (i) => ({ action: 'POST /orders/:id', outcome: 'success', actor: { id: `user-${i % 1000}`, type: 'user' }, request_id: `req-${i}`, trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7', attributes: { 'http.request.method': 'POST', 'url.path': `/orders/${i}`, 'http.route': '/orders/:id', 'http.response.status_code': 201, 'client.address': '10.1.2.3', 'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36', 'http.server.request.duration': 0.0123 } });
const N = 200000;
const evs = Array.from({ length: N }, (_, i) => ev(i));
function cpu(fn) { const c0 = process.cpuUsage(); fn(); const c = process.cpuUsage(c0); return ((c.user + c.system) / N).toFixed(2) + ' µs'; }
let ps;
for (let round = 0; round < 3; round++) {
  console.log('JSON.stringify', cpu(() => { for (let i = 0; i < N; i++) JSON.stringify(evs[i]); }));
  console.log('prepareEvent ', cpu(() => { ps = evs.map((e) => prepareEvent(e, r, uuidv7)); }));
  let prev = 'a'.repeat(64); const t = new RetainedTree();
  const inputs = [];
  console.log('leafInput    ', cpu(() => { for (let i = 0; i < N; i++) inputs.push(recordLeafInput(ps[i], i, prev)); }));
  const hs = [];
  console.log('blake3+hex   ', cpu(() => { for (let i = 0; i < N; i++) { const h = recordHash(inputs[i].subarray(1)); prev = toHex(h); hs.push(h); } }));
  console.log('leafHash     ', cpu(() => { for (let i = 0; i < N; i++) hs[i] = leafHashOfInput(inputs[i]); }));
  console.log('tree append  ', cpu(() => { for (let i = 0; i < N; i++) t.append(hs[i]); }));
}
