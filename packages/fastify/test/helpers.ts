import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAudit, generateKey, type AuditEngine, type CreateAuditOptions } from '@ron-audit/core';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { afterEach } from 'vitest';
import { audit, type FastifyAuditOptions } from '../src/index.js';

/** A real keystore with key 'k' in a temp dir, removed after the test. */
const dirs: string[] = [];
const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close().catch(() => undefined)));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

export async function keystore(withKey = true): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ron-audit-fastify-'));
  dirs.push(dir);
  if (withKey) await generateKey(dir, 'k');
  return dir;
}

/** Engine options for the plugin-created engine (env ignored so the shell's AUDIT_* cannot leak in). */
export async function engineOptions(extra: Omit<CreateAuditOptions, 'registry'> = {}): Promise<Omit<CreateAuditOptions, 'registry'>> {
  return { keystoreDir: await keystore(), keyId: 'k', origin: 'test.local/fastify', env: {}, ...extra };
}

export async function engine(extra: CreateAuditOptions = {}): Promise<AuditEngine> {
  const e = createAudit({ keystoreDir: await keystore(), keyId: 'k', origin: 'test.local/fastify', env: {}, ...extra });
  await e.ready();
  return e;
}

/** A Fastify app with the plugin registered first; closed after the test. */
export async function app(
  options: FastifyAuditOptions,
  routes: (app: FastifyInstance) => void,
  server: FastifyServerOptions = {},
): Promise<FastifyInstance> {
  const a = Fastify(server);
  apps.push(a);
  await a.register(audit, options);
  routes(a);
  await a.ready();
  return a;
}

export type Rec = Record<string, unknown> & { attributes: Record<string, unknown>; actor: Record<string, unknown> };

export async function records(e: AuditEngine): Promise<Rec[]> {
  await e.flush();
  const size = e.checkpoint()?.size ?? 0;
  if (size === 0) return [];
  return (await e.read()).map((r) => r.record as Rec);
}

export async function recordBytes(e: AuditEngine): Promise<string> {
  await e.flush();
  if ((e.checkpoint()?.size ?? 0) === 0) return '';
  return (await e.read()).map((r) => Buffer.from(r.bytes).toString('utf8')).join('\n');
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
