// The three example services as the crash drill drives them: where each starts, which route is its
// durable write and which its plain audited read, and how it reports readiness. The Nest example
// is TypeScript: it is compiled once per drill into a directory of its own under its dist/ (the
// example's test compiles into dist/ itself, and may run at the same time in CI).
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from './paths.mjs';

const require = createRequire(import.meta.url);

/** The HS256 secret the drill gives every example (JWT_SECRET), and tokens signed with it. */
export const DRILL_JWT_SECRET = 'ron-audit-drill-secret';

export function drillToken(sub, name) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ sub, name, roles: ['drill'], exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${unsigned}.${createHmac('sha256', DRILL_JWT_SECRET).update(unsigned).digest('base64url')}`;
}

const nestDir = join(repoRoot, 'examples/nest-app');

/**
 * name → { label, entry, env, write: { path, body }, read: path }. Every example's POST /orders is
 * durable (the 201 waits for the fsync); its read is not.
 */
export const EXAMPLES = {
  fastify: { label: 'Fastify (examples/fastify-app)', entry: join(repoRoot, 'examples/fastify-app/src/server.js'), env: { LOG_LEVEL: 'warn' }, write: { path: '/orders', body: { sku: 'A-1', qty: 1 } }, read: '/products' },
  express: { label: 'Express (examples/express-app)', entry: join(repoRoot, 'examples/express-app/src/server.js'), env: {}, write: { path: '/orders', body: { sku: 'A-1', qty: 1 } }, read: '/hello' },
  'nest-express': { label: 'Nest on platform-express (examples/nest-app)', nest: true, env: { NEST_PLATFORM: 'express' }, write: { path: '/orders', body: { item: '1', quantity: 1 } }, read: '/items/1' },
  'nest-fastify': { label: 'Nest on platform-fastify (examples/nest-app)', nest: true, env: { NEST_PLATFORM: 'fastify' }, write: { path: '/orders', body: { item: '1', quantity: 1 } }, read: '/items/1' },
};

/**
 * Compile the Nest example into dist/drill-<pid>/ (under dist/ so that its packages resolve from
 * the example's node_modules). Returns its entry and a remove().
 */
export function buildNest() {
  const outDir = join(nestDir, 'dist', `drill-${process.pid}`);
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(nestDir, 'tsconfig.json'), '--outDir', outDir, '--sourceMap', 'false'], { stdio: 'inherit' });
  return { entry: join(outDir, 'main.js'), remove: () => rmSync(outDir, { recursive: true, force: true }) };
}

/** GET /readyz until the service is past start-up (ready, or not ready for a reason other than starting), bounded. */
export async function settledReadiness(url, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/readyz`);
    const body = await res.json().catch(() => ({}));
    const reasons = (body.reasons ?? []).map((r) => ({ code: r.code, message: r.message }));
    const starting = res.status !== 200 && reasons.some((r) => r.code === 'AUDIT_NOT_READY' && /^starting/.test(r.message ?? ''));
    if (!starting || Date.now() > deadline) return { status: res.status, ready: res.status === 200, state: body.status ?? (res.status === 200 ? 'ready' : 'not_ready'), reasons };
    await new Promise((r) => setTimeout(r, 50));
  }
}
