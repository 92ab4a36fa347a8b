import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateKey } from '@ron-audit/core';
import { describe, expect, it } from 'vitest';
import { keystore } from './helpers.js';

/** The usage example of docs/adapters/fastify.md, run against the built package so the doc cannot rot. */
const run = promisify(execFile);
const pkg = fileURLToPath(new URL('..', import.meta.url));
const doc = fileURLToPath(new URL('../../../docs/adapters/fastify.md', import.meta.url));

describe('docs/adapters/fastify.md', () => {
  it('the usage example registers, audits, serves /readyz and /metrics', async () => {
    const text = await readFile(doc, 'utf8');
    const usage = /## Usage\n[\s\S]*?```js\n([\s\S]*?)```/.exec(text)?.[1];
    expect(usage).toBeDefined();
    const dir = await keystore(false);
    await generateKey(dir, 'ron-audit');
    const drive = `
const order = await app.inject('/orders/7');
const created = await app.inject({ method: 'POST', url: '/orders', payload: { sku: 'A' } });
const ready = await app.inject('/readyz');
const metrics = await app.inject('/metrics');
await app.audit.flush();
const rs = (await app.audit.engine.read()).map((r) => r.record);
await app.close();
console.log(JSON.stringify({ order: order.statusCode, created: created.statusCode, ready: ready.statusCode, metrics: metrics.body.includes('audit_appended_total'), actions: rs.map((r) => r.action), ids: rs.map((r) => r.id).join() === [order, created].map((r) => r.headers['audit-id']).join() }));
`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', usage! + drive], { cwd: pkg, env: { ...process.env, AUDIT_KEYSTORE_DIR: dir, AUDIT_KEY_ID: 'ron-audit' } });
    expect(JSON.parse(stdout)).toEqual({ order: 200, created: 201, ready: 200, metrics: true, actions: ['GET /orders/:id', 'order.create'], ids: true });
  });
});

/**
 * Issue 11: the README's Fastify quick start copied into a fresh app. The app's node_modules holds
 * the built packages (as npm would install them) and nothing else: no key, no logger.
 */
describe('README.md: Fastify quick start in a fresh app', () => {
  it('without the key step: 503 AUDIT_NOT_READY and one stderr line naming the fix; after the README\'s key step: 200', async () => {
    const readme = await readFile(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
    const section = /### Fastify[^\n]*\n([\s\S]*?)\n### /.exec(readme)![1]!;
    const shell = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
    const keyStep = shell.split('\n').find((l) => l.startsWith('npx ronctl kms keygen'))!;
    expect(keyStep).toBe('npx ronctl kms keygen --key-alias ron-audit');
    const snippet = /```js\n([\s\S]*?)```/.exec(section)![1]!;

    const app = await mkdtemp(join(tmpdir(), 'ron-audit-fresh-app-'));
    try {
      const core = fileURLToPath(new URL('../../core', import.meta.url));
      await mkdir(join(app, 'node_modules', '@ron-audit'), { recursive: true });
      await mkdir(join(app, 'node_modules', '.bin'));
      await symlink(pkg, join(app, 'node_modules', '@ron-audit', 'fastify'));
      await symlink(core, join(app, 'node_modules', '@ron-audit', 'core'));
      await symlink(fileURLToPath(new URL('../node_modules/fastify', import.meta.url)), join(app, 'node_modules', 'fastify'));
      await symlink(join(core, 'bin', 'ronctl.cjs'), join(app, 'node_modules', '.bin', 'ronctl'));
      const drive = `
const r = await app.inject('/orders/7');
const ready = await app.inject('/readyz');
await app.close();
console.log(JSON.stringify({ status: r.statusCode, code: r.json().code ?? null, ready: ready.statusCode }));
`;
      const env = { ...process.env };
      for (const k of Object.keys(env)) if (k.startsWith('AUDIT_')) delete env[k];
      const first = await run(process.execPath, ['--input-type=module', '-e', snippet + drive], { cwd: app, env });
      expect(JSON.parse(first.stdout)).toEqual({ status: 503, code: 'AUDIT_NOT_READY', ready: 503 });
      const lines = first.stderr.split('\n').filter((l) => l.length > 0);
      expect(lines, first.stderr).toHaveLength(1);
      expect(lines[0]).toContain('npx ronctl kms keygen --key-alias ron-audit');

      const keygen = await run('bash', ['-c', keyStep], { cwd: app, env });
      expect(keygen.stdout).toContain('created key ron-audit');
      const second = await run(process.execPath, ['--input-type=module', '-e', snippet + drive], { cwd: app, env });
      expect(JSON.parse(second.stdout)).toEqual({ status: 200, code: null, ready: 200 });
      expect(second.stderr).toBe('');
    } finally {
      await rm(app, { recursive: true, force: true });
    }
  });
});
