// Shared set-up for the engine's behaviour tests: real key files in a temporary keystore, a real
// prom-client registry, and a logger that records what the engine logs. Nothing of ours is mocked.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { createAudit } from '../../src/create-audit.js';
import type { AuditEngine, CreateAuditOptions } from '../../src/api.js';
import type { MemoryLog } from '../../src/log/memory.js';
import type { ByteRun } from '../../src/prim/byte-run.js';
import type { Admission } from '../../src/queue/admission.js';
import { generateKey } from '../../src/sign/keystore.js';

export const TEST_KEY = 'test-key';
export const TEST_ORIGIN = 'audit.test.example/engine/1';

const dirs: string[] = [];
const engines: AuditEngine[] = [];

/** A fresh temporary directory, removed by cleanup(). */
export async function tempDir(prefix = 'ron-audit-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A keystore directory holding one generated key (0600 file in a 0700 directory). */
export async function keystoreWithKey(alias = TEST_KEY): Promise<string> {
  const dir = join(await tempDir(), 'keys');
  await generateKey(dir, alias);
  return dir;
}

/** createAudit with an isolated environment and registry; closed by cleanup(). */
export function audit(options: CreateAuditOptions = {}): AuditEngine {
  const engine = createAudit({ env: {}, registry: new Registry(), origin: TEST_ORIGIN, ...options });
  engines.push(engine);
  return engine;
}

/** An engine with a real key file, already ready. */
export async function readyAudit(options: CreateAuditOptions = {}): Promise<AuditEngine> {
  const keystoreDir = options.keystoreDir ?? (await keystoreWithKey(options.keyId ?? TEST_KEY));
  const engine = audit({ keystoreDir, keyId: TEST_KEY, ...options });
  await engine.ready();
  return engine;
}

/** Close every engine and remove every directory created by this file's tests. */
export async function cleanup(): Promise<void> {
  const open = engines.splice(0);
  await Promise.all(open.map((e) => e.close({ timeoutMs: 0 })));
  const made = dirs.splice(0);
  await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
}

export interface LoggedLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg: string | undefined;
}

/** A pino-shaped logger that keeps every call. */
export function recordingLogger(): { lines: LoggedLine[]; info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void } {
  const lines: LoggedLine[] = [];
  return {
    lines,
    info: (obj, msg) => void lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => void lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => void lines.push({ level: 'error', obj, msg }),
  };
}

/** Everything a logger received, as one string (objects serialized, errors with message and stack). */
export function loggedText(lines: readonly LoggedLine[]): string {
  return lines
    .map((l) =>
      JSON.stringify({ level: l.level, msg: l.msg, obj: l.obj }, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack, details: (v as { details?: unknown }).details } : v)),
    )
    .join('\n');
}

/** Current value of a counter or gauge, summed over the series whose labels include `labels`. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (m === undefined) throw new Error(`metric ${name} is not registered`);
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x)).reduce((n, v) => n + v.value, 0);
}

/** The engine's private parts, for tests that tamper with what it holds. */
export function internals(engine: AuditEngine): { log: MemoryLog; admission: Admission } {
  return engine as unknown as { log: MemoryLog; admission: Admission };
}

/**
 * The records a log holds, for tests that play someone who changes them in memory: get(i) is a
 * live view (writing into it changes the held bytes), set(i, bytes) replaces record i.
 */
export function heldRecords(log: MemoryLog): { get(i: number): Uint8Array; set(i: number, bytes: Uint8Array): void } {
  return (log as unknown as { records: ByteRun }).records;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Run `fn` and return what it threw (fails the test if it did not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

export async function rejected(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

export const decode = (b: Uint8Array): string => new TextDecoder().decode(b);
