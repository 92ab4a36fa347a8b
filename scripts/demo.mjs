// The README's main job: start the Fastify example with audit on (Macronode: WAL + export under
// ./.audit/, or wherever AUDIT_WAL_DIR / AUDIT_EXPORT_DIR point), drive a little traffic, stop it
// cleanly, and verify the exported log with `ronctl audit verify`. Exits with ronctl's exit code.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const example = join(root, 'examples/fastify-app');
const ronctl = join(root, 'packages/core/bin/ronctl.cjs');

const env = { ...process.env };
env.AUDIT_WAL_ENABLED ??= 'true';
env.AUDIT_EXPORT_ENABLED ??= 'true';
env.AUDIT_WAL_DIR ??= join(root, '.audit/wal');
env.AUDIT_EXPORT_DIR ??= join(root, '.audit/export');
env.AUDIT_KEYSTORE_DIR ??= join(root, '.audit/keys');
env.AUDIT_ORIGIN ??= 'demo.ron-audit.local/fastify-app';

function freePort() {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function step(text) {
  console.log(`\n== ${text}`);
}

const port = await freePort();
env.PORT = String(port);
env.HOST = '127.0.0.1';
step(`starting examples/fastify-app on 127.0.0.1:${port} (WAL ${env.AUDIT_WAL_DIR}, export ${env.AUDIT_EXPORT_DIR})`);
const child = spawn(process.execPath, ['src/server.js'], { cwd: example, env, stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
const lines = [];
child.stdout.on('data', (d) => {
  out += d.toString();
  let nl;
  while ((nl = out.indexOf('\n')) >= 0) {
    const line = out.slice(0, nl);
    out = out.slice(nl + 1);
    lines.push(line);
    console.log(`  [app] ${line}`);
  }
});
const exited = new Promise((ok) => child.on('exit', (code, signal) => ok({ code, signal })));
const deadline = Date.now() + 15_000;
while (!lines.some((l) => l.includes('listening on'))) {
  if (Date.now() > deadline) throw new Error('the example did not start within 15 s');
  const early = await Promise.race([exited, new Promise((ok) => setTimeout(() => ok(undefined), 50))]);
  if (early) throw new Error(`the example exited early (${early.code ?? early.signal})`);
}

const base = `http://127.0.0.1:${port}`;
const token = spawnSync(process.execPath, ['src/token.js', 'alice'], { cwd: example, env, encoding: 'utf8' }).stdout.trim();
async function call(method, path, { auth = false, body } = {}) {
  const headers = { 'content-type': 'application/json', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
  if (auth) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  await res.arrayBuffer();
  return { status: res.status, auditId: res.headers.get('audit-id') };
}

step('driving traffic');
const results = [];
for (let i = 0; i < 20; i++) results.push(['GET /products', await call('GET', '/products')]);
for (let i = 0; i < 5; i++) results.push(['POST /orders (alice)', await call('POST', '/orders', { auth: true, body: { sku: 'A-1', qty: i + 1 } })]);
results.push(['POST /orders (no token)', await call('POST', '/orders', { body: { sku: 'A-1', qty: 1 } })]);
results.push(['GET /nope', await call('GET', '/nope')]);
results.push(['GET /internal/ping (opted out)', await call('GET', '/internal/ping')]);
const shown = new Set();
for (const [what, r] of results) {
  if (shown.has(what)) continue;
  shown.add(what);
  console.log(`  ${what.padEnd(32)} -> ${r.status}  Audit-Id: ${r.auditId ?? '(none: not audited)'}`);
}
console.log(`  (${results.length} requests in all)`);

step('audit metrics from /metrics');
const metrics = await (await fetch(`${base}/metrics`)).text();
for (const line of metrics.split('\n')) if (/^(audit_appended_total|audit_queue_depth|audit_verify_fail_total|busy_rejections_total|audit_checkpoints_total|wal_fsync_seconds_count)/.test(line)) console.log(`  ${line}`);

step('stopping the service (SIGTERM: drain the queue, sign the final checkpoint, publish the export)');
child.kill('SIGTERM');
const { code } = await exited;
if (code !== 0) throw new Error(`the example exited with ${code}`);
// One verifier key per log: one, or one per lane when AUDIT_WORKERS > 0.
const vkeys = lines.filter((l) => l.startsWith('verifier key: ')).map((l) => l.slice('verifier key: '.length).trim());
if (vkeys.length === 0) throw new Error('the example printed no verifier key');

step(`ronctl audit verify --export-dir ${env.AUDIT_EXPORT_DIR} --key <the log's verifier key>`);
const verify = spawnSync(process.execPath, [ronctl, 'audit', 'verify', '--export-dir', env.AUDIT_EXPORT_DIR, ...vkeys.flatMap((k) => ['--key', k])], { stdio: 'inherit', env });
process.exitCode = verify.status ?? 2;
