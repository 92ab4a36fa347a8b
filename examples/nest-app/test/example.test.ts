import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = (await import('node:module')).createRequire(import.meta.url);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The HS256 token the example accepts, made independently of its code. */
function token(sub: string, secret: string): string {
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ sub, name: 'Grace', exp: Math.floor(Date.now() / 1000) + 60 })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
  exited: Promise<number | null>;
}

async function startExample(env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const cwd = await mkdtemp(join(tmpdir(), 'nest-app-'));
  const child = spawn(process.execPath, [join(root, 'dist/main.js')], { cwd, env: { ...process.env, PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (!out.includes('listening on')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`example did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  const url = `http://127.0.0.1:${port}`;
  // The app listens before its WAL is recovered and answers audited routes 503 until it has
  // (issue 13 item 8): wait for /readyz, as a load balancer would, before audited traffic.
  while ((await fetch(`${url}/readyz`)).status !== 200) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`example did not become ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return { child, url, output: () => out, exited };
}

beforeAll(() => {
  // `pnpm start` compiles with tsc first; the test does the same once.
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  expect(existsSync(join(root, 'dist/main.js'))).toBe(true);
});

describe.each(['express', 'fastify'])('examples/nest-app on platform-%s', (platform) => {
  it('serves, audits, and on SIGTERM drains and exits 0 printing the final checkpoint and verifier key', async () => {
    const keys = await mkdtemp(join(tmpdir(), 'nest-app-keys-'));
    const secret = 'test-secret';
    const app = await startExample({ NEST_PLATFORM: platform, AUDIT_KEYSTORE_DIR: keys, AUDIT_KEY_ID: 'example-key', AUDIT_ORIGIN: 'example.test/nest-app', JWT_SECRET: secret });
    expect(app.output()).toContain(`audit key "example-key" was missing from ${keys}: generated a new one`);
    expect(app.output()).toContain(`nest-app (${platform}) listening on http://127.0.0.1:`);

    const item = await fetch(`${app.url}/items/1`);
    expect(item.status).toBe(200);
    expect(item.headers.get('audit-id')).toMatch(/^[0-9a-f-]{36}$/);

    const order = await fetch(`${app.url}/orders`, { method: 'POST', headers: { authorization: `Bearer ${token('u-7', secret)}`, 'content-type': 'application/json' }, body: '{"item":"1","quantity":2}' });
    expect(order.status).toBe(201);
    expect(order.headers.get('audit-id')).not.toBeNull();
    const denied = await fetch(`${app.url}/orders`, { method: 'POST', headers: { authorization: `Bearer ${token('u-7', 'wrong-secret')}` } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('audit-id')).not.toBeNull();

    const health = await fetch(`${app.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('audit-id')).toBeNull();
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('audit_appended_total');
    expect(metrics).toContain('process_cpu_user_seconds_total');

    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    expect(app.output()).toContain('audit closed on SIGTERM: final checkpoint size=3');
    expect(app.output()).toMatch(/audit verifier key: example\.test\/nest-app\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+/);
  });
});
