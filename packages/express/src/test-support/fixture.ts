import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAudit, generateKey, type AuditEngine, type CreateAuditOptions } from '@ron-audit/core';

/** Real engines on real temp keystores; records read back verified. */

export type AuditRecord = Readonly<Record<string, unknown>> & {
  readonly id: string;
  readonly action: string;
  readonly outcome: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly actor: Readonly<Record<string, unknown>>;
};

const dirs: string[] = [];

/** A keystore directory with key 'k'. */
export async function keystore(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ron-audit-express-'));
  dirs.push(dir);
  await generateKey(dir, 'k');
  return dir;
}

/** An empty temporary directory, removed by cleanup(). */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ron-audit-express-'));
  dirs.push(dir);
  return dir;
}

/** Engine options for a fresh keystore, isolated from the process environment. */
export async function engineOptions(extra: Partial<CreateAuditOptions> = {}): Promise<CreateAuditOptions> {
  return { keystoreDir: await keystore(), keyId: 'k', origin: 'test.local/x', env: {}, ...extra };
}

export async function testEngine(extra: Partial<CreateAuditOptions> = {}): Promise<AuditEngine> {
  const engine = createAudit(await engineOptions(extra));
  await engine.ready();
  return engine;
}

export async function cleanup(): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** Records in the log, verified on read. */
export async function records(engine: AuditEngine): Promise<AuditRecord[]> {
  return (await engine.read()).map((r) => r.record as AuditRecord);
}

/** Wait until the log holds `n` records (a record is filled when the response finishes, which may trail the client by a tick). */
export async function waitForRecords(engine: AuditEngine, n: number, timeoutMs = 5000): Promise<AuditRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rs = await records(engine);
    if (rs.length >= n) return rs;
    if (Date.now() > deadline) throw new Error(`expected ${n} records, have ${rs.length}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The record bytes as text, for "never in the bytes" checks. */
export async function recordText(engine: AuditEngine): Promise<string> {
  return (await engine.read()).map((r) => Buffer.from(r.bytes).toString('utf8')).join('\n');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
