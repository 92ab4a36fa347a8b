import { mkdtempSync } from 'node:fs';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain JavaScript module of the example, no declarations
import { signHs256 } from '../src/jwt.js';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'test-secret-for-the-example';
let keystore = '';

afterAll(async () => {
  if (keystore) await rm(keystore, { recursive: true, force: true });
});

function start(env: Record<string, string>): { child: ChildProcessWithoutNullStreams; out: () => string; url: Promise<string>; exit: Promise<number | null> } {
  // A fresh working directory per start: the example keeps its WAL and export under ./.audit/.
  const cwd = mkdtempSync(join(tmpdir(), 'express-app-cwd-'));
  const child = spawn(process.execPath, [join(appDir, 'src/server.js')], { cwd, env: { ...process.env, ...env } });
  let out = '';
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited ${String(code)} before listening:\n${out}`)));
  });
  url.catch(() => undefined); // a run that is expected to fail never listens
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, url, exit };
}

/**
 * The example listens before its WAL is recovered and answers audited routes 503 until it has
 * (issue 13 item 8): wait for /readyz, as a load balancer would, before audited traffic.
 */
async function untilReady(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await fetch(`${url}/readyz`)).status !== 200) {
    if (Date.now() > deadline) throw new Error(`${url} did not become ready`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('examples/express-app', () => {
  it('serves, audits, and on SIGTERM drains and prints the final checkpoint and verifier key', async () => {
    keystore = await mkdtemp(join(tmpdir(), 'ron-audit-express-app-'));
    const app = start({ PORT: '0', HOST: '127.0.0.1', AUDIT_KEYSTORE_DIR: keystore, AUDIT_KEY_ID: 'example', AUDIT_ORIGIN: 'example.test/express-app', JWT_SECRET: SECRET });
    const url = await app.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(app.out()).toMatch(/generated signing key "example"/);
    await untilReady(url);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('audit-id')).toBeNull();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const hello = await fetch(`${url}/hello?name=ron`);
    expect(await hello.json()).toEqual({ hello: 'ron' });
    expect(hello.headers.get('audit-id')).toMatch(/^[0-9a-f-]{36}$/);

    const anonymous = await fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sku":"A1"}' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('audit-id')).not.toBeNull();

    const token = signHs256({ sub: 'alice', name: 'Alice', roles: ['buyer'] }, SECRET) as string;
    const created = await fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{"sku":"A1","qty":2}' });
    expect(created.status).toBe(201);
    expect(created.headers.get('audit-id')).not.toBeNull();

    const forged = signHs256({ sub: 'mallory' }, 'not-the-secret') as string;
    expect((await fetch(`${url}/orders`, { method: 'POST', headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);

    const stats = await fetch(`${url}/internal/stats`);
    expect(stats.status).toBe(200);
    expect(stats.headers.get('audit-id')).toBeNull();

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/audit_appended_total/);

    app.child.kill('SIGTERM');
    expect(await app.exit).toBe(0);
    // hello, the two 401s and the 201: four records, all under the final checkpoint.
    expect(app.out()).toMatch(/audit: final checkpoint size=4 verifier key=example\.test\/express-app\+[0-9a-f]{8}\+\S+/);
  });

  it('refuses a bad AUDIT_* value at startup with one line naming it, exit code 1', async () => {
    const app = start({ PORT: '0', AUDIT_KEYSTORE_DIR: keystore, AUDIT_QUEUE_DEPTH: 'lots' });
    expect(await app.exit).toBe(1);
    expect(app.out()).toMatch(/AUDIT_CONFIG_INVALID: AUDIT_QUEUE_DEPTH="lots" is invalid/);
  });
});
