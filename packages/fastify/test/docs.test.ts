import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
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
    const usage = /## Usage\s+```js\n([\s\S]*?)```/.exec(text)?.[1];
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
