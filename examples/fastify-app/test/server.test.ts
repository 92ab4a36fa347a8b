import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../src/jwt.js';
import { DEMO_JWT_SECRET } from '../src/server-config.js';

/** The real example, spawned with node on a free port (PORT=0), driven over HTTP, stopped with SIGTERM. */
const root = fileURLToPath(new URL('..', import.meta.url));

function start(env: Record<string, string>) {
  // A fresh working directory per start: the example keeps its WAL and export under ./.audit/.
  const cwd = mkdtempSync(join(tmpdir(), 'fastify-app-cwd-'));
  const child = spawn(process.execPath, [join(root, 'src/server.js')], { cwd, env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`example exited (${code}) before listening:\n${out}\n${err}`));
    });
  });
  return { child, url, exited, output: () => out, errors: () => err };
}

describe('examples/fastify-app', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ron-audit-example-fastify-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves, audits, and on SIGTERM drains and prints the final checkpoint and verifier key', async () => {
    const app = start({ AUDIT_KEYSTORE_DIR: join(dir, 'keys'), AUDIT_ORIGIN: 'example.test/fastify-app', JWT_SECRET: '' });
    try {
      const base = await app.url;
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(app.output()).toContain('generated audit signing key "ron-audit"');

      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ ready: true, status: 'ready', reasons: [] });
      const metrics = await fetch(`${base}/metrics`);
      expect(await metrics.text()).toContain('audit_queue_depth');
      const ping = await fetch(`${base}/internal/ping`);
      expect(ping.headers.get('audit-id')).toBeNull();

      const products = await fetch(`${base}/products`);
      expect(products.status).toBe(200);
      expect(products.headers.get('audit-id')).toBeTruthy();

      const anonymous = await fetch(`${base}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sku":"A-1","qty":1}' });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('audit-id')).toBeTruthy();

      const token = signJwt({ sub: 'alice', name: 'Alice', roles: ['orders:write'] }, DEMO_JWT_SECRET);
      const order = await fetch(`${base}/orders`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"sku":"A-1","qty":2}' });
      expect(order.status).toBe(201);
      expect(await order.json()).toMatchObject({ by: 'alice' });
      expect(order.headers.get('audit-id')).toBeTruthy();

      const forged = signJwt({ sub: 'mallory' }, 'not-the-secret');
      expect((await fetch(`${base}/orders`, { method: 'POST', headers: { authorization: `Bearer ${forged}` } })).status).toBe(401);
    } finally {
      app.child.kill('SIGTERM');
    }
    expect(await app.exited).toBe(0);
    // Audited: GET /products, the 401, the 201 and the forged 401; /healthz, /readyz, /metrics and /internal/ping are not.
    expect(app.output()).toMatch(/final checkpoint size=4 origin=example\.test\/fastify-app/);
    expect(app.output()).toMatch(/verifier key: example\.test\/fastify-app\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*/);
  });

  it('with AUDIT_WORKERS=2: every audited request is in one of two lane logs, SIGTERM reports each, and ronctl verifies both', async () => {
    const exportDir = join(dir, 'lanes-export');
    const app = start({
      AUDIT_KEYSTORE_DIR: join(dir, 'keys'),
      AUDIT_ORIGIN: 'example.test/fastify-lanes',
      AUDIT_WORKERS: '2',
      AUDIT_WAL_ENABLED: 'true',
      AUDIT_WAL_DIR: join(dir, 'lanes-wal'),
      AUDIT_EXPORT_ENABLED: 'true',
      AUDIT_EXPORT_DIR: exportDir,
    });
    const ids = new Set<string>();
    try {
      const base = await app.url;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      for (let i = 0; i < 30; i++) {
        const res = await fetch(`${base}/products`);
        expect(res.status).toBe(200);
        ids.add(res.headers.get('audit-id')!);
      }
    } finally {
      app.child.kill('SIGTERM');
    }
    expect(await app.exited).toBe(0);
    const sizes = [...app.output().matchAll(/final checkpoint size=(\d+) origin=example\.test\/fastify-lanes\/lane-(\d)/g)].map((m) => [Number(m[2]), Number(m[1])]);
    expect(sizes.map(([lane]) => lane)).toEqual([0, 1]);
    expect(sizes.reduce((a, [, n]) => a + n!, 0)).toBe(30);
    const keys = [...app.output().matchAll(/verifier key: (\S+)/g)].map((m) => m[1]!);
    expect(keys).toHaveLength(2);
    const ronctl = join(root, '..', '..', 'packages', 'core', 'bin', 'ronctl.cjs');
    const verify = spawnSync(process.execPath, [ronctl, 'audit', 'verify', '--export-dir', exportDir, ...keys.flatMap((k) => ['--key', k])], { encoding: 'utf8' });
    expect(verify.stdout).toContain('OK: 2 lanes, 30 records verified');
    expect(verify.status).toBe(0);
  });

  it('AUDIT_PQ_SIGN=true after `ronctl kms keygen --pq --key-alias k1`: the example starts, signs with both keys, and ronctl verifies its export', async () => {
    const ronctl = join(root, '..', '..', 'packages', 'core', 'bin', 'ronctl.cjs');
    const keystoreDir = join(dir, 'pq-keys');
    const exportDir = join(dir, 'pq-export');
    const keygen = spawnSync(process.execPath, [ronctl, 'kms', 'keygen', '--pq', '--key-alias', 'k1', '--keystore-dir', keystoreDir], { encoding: 'utf8' });
    expect(keygen.status, keygen.stderr).toBe(0);
    const app = start({
      AUDIT_KEYSTORE_DIR: keystoreDir,
      AUDIT_KEY_ID: 'k1',
      AUDIT_PQ_SIGN: 'true',
      AUDIT_ORIGIN: 'example.test/fastify-pq',
      AUDIT_WAL_ENABLED: 'true',
      AUDIT_WAL_DIR: join(dir, 'pq-wal'),
      AUDIT_EXPORT_ENABLED: 'true',
      AUDIT_EXPORT_DIR: exportDir,
    });
    try {
      const base = await app.url;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await fetch(`${base}/products`)).status).toBe(200);
    } finally {
      app.child.kill('SIGTERM');
    }
    expect(await app.exited).toBe(0);
    const note = readFileSync(join(exportDir, 'checkpoint'), 'utf8');
    expect(note.split('\n').filter((l) => l.startsWith('\u2014 '))).toHaveLength(2);
    const list = spawnSync(process.execPath, [ronctl, 'kms', 'list', '--keystore-dir', keystoreDir, '--origin', 'example.test/fastify-pq', '--vkeys'], { encoding: 'utf8' });
    const [vkey, pqVkey] = list.stdout.trim().split('\n');
    expect(pqVkey).toBeDefined();
    for (const key of [vkey!, pqVkey!]) {
      const verify = spawnSync(process.execPath, [ronctl, 'audit', 'verify', '--export-dir', exportDir, '--key', key], { encoding: 'utf8' });
      expect(verify.stdout, verify.stderr).toMatch(/^OK: \d+ records verified/);
      expect(verify.status).toBe(0);
    }
  });

  it('reuses an existing key instead of generating one', async () => {
    const app = start({ AUDIT_KEYSTORE_DIR: join(dir, 'keys'), AUDIT_ORIGIN: 'example.test/fastify-app-2' });
    await app.url;
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    expect(app.output()).not.toContain('generated audit signing key');
    expect(app.output()).toMatch(/final checkpoint size=0/);
  });

  it('SIGTERM under load: every audited response the clients got is under the final checkpoint', async () => {
    const app = start({ AUDIT_KEYSTORE_DIR: join(dir, 'keys'), AUDIT_ORIGIN: 'example.test/fastify-app-load' });
    const base = await app.url;
    let signalled = false;
    const fired = Array.from({ length: 150 }, () =>
      fetch(`${base}/products`).then(
        (res) => {
          if (!signalled) {
            signalled = true;
            app.child.kill('SIGTERM');
          }
          return res.headers.get('audit-id');
        },
        () => null,
      ),
    );
    const ids = (await Promise.all(fired)).filter((id) => id !== null);
    expect(await app.exited).toBe(0);
    const size = Number(/final checkpoint size=(\d+)/.exec(app.output())?.[1]);
    expect(ids.length).toBeGreaterThan(0);
    expect(size).toBeGreaterThanOrEqual(ids.length);
  });

  it('runs with AUDIT_ENABLED=false: nothing audited, clean exit', async () => {
    const app = start({ AUDIT_KEYSTORE_DIR: join(dir, 'keys'), AUDIT_ENABLED: 'false' });
    const base = await app.url;
    const res = await fetch(`${base}/products`);
    expect(res.status).toBe(200);
    expect(res.headers.get('audit-id')).toBeNull();
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    expect(app.output()).toContain('verifier key: (none: auditing disabled)');
  });

  it('refuses an AUDIT_* value the engine does not accept, naming it', async () => {
    const app = start({ AUDIT_KEYSTORE_DIR: join(dir, 'keys'), AUDIT_QUEUE_DEPTH: 'lots' });
    await expect(app.url).rejects.toThrow(/AUDIT_QUEUE_DEPTH/);
    expect(await app.exited).toBe(1);
  });
});
