import { hostname } from 'node:os';
import { AuditError, describe, invalidArgument } from './errors.js';
import { quotedUnlessSecret } from './prim/secret-text.js';
import { isValidOrigin } from './log/checkpoint.js';
import { createRedactor, type RedactOption, type Redactor } from './record/redact.js';

/**
 * Configuration: programmatic options over AUDIT_* environment variables over named defaults.
 * Resolved once into a frozen object; an invalid value is an AUDIT_CONFIG_INVALID error that
 * names the option or variable, the value and what is allowed — never a silent default.
 * The README's configuration table lists exactly CONFIG_KEYS (a test keeps them in sync).
 */

export const DEFAULT_ENABLED = true;
export const DEFAULT_QUEUE_DEPTH = 4096;
export const DEFAULT_WAL_ENABLED = false;
export const DEFAULT_WAL_DIR = './.audit/wal';
export const DEFAULT_WAL_BATCH = 32;
export const DEFAULT_WAL_WINDOW_MS = 1;
// 16 MiB: a bounded start replays about one segment (format §9.5), so this bounds the time to ready.
export const DEFAULT_WAL_SEGMENT_BYTES = 16 * 1024 * 1024;
export const DEFAULT_EXPORT_ENABLED = false;
export const DEFAULT_EXPORT_DIR = './.audit/export';
export const DEFAULT_CHECKPOINT_EVERY = 10_000;
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000;
export const DEFAULT_KEY_ID = 'ron-audit';
export const DEFAULT_KEYSTORE_DIR = './.audit/keys';
export const DEFAULT_WORKERS = 0;
export const DEFAULT_BATCH_MAX = 512;
export const DEFAULT_BATCH_WINDOW_MS = 5;
export const DEFAULT_MEMORY_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_LONG_LIVED_AFTER_MS = 1000;
export const DEFAULT_RETRY_AFTER_SECONDS = 1;
export const DEFAULT_CRYPTO = 'auto';
export const DEFAULT_PQ_SIGN = false;
/** PostgreSQL shipping is off unless AUDIT_PG_URL is set (there is no default database). */
export const DEFAULT_PG_URL: string | undefined = undefined;
export const DEFAULT_PG_BATCH = 64;
export const DEFAULT_PG_SCHEMA = 'ron_audit';

export type CryptoBackend = 'auto' | 'fast' | 'pure';

export interface AuditConfig {
  readonly enabled: boolean;
  readonly queueDepth: number;
  readonly longLivedSlots: number;
  readonly longLivedAfterMs: number;
  readonly batchMax: number;
  readonly batchWindowMs: number;
  readonly walEnabled: boolean;
  readonly walDir: string;
  readonly walBatch: number;
  readonly walWindowMs: number;
  readonly walSegmentBytes: number;
  readonly exportEnabled: boolean;
  readonly exportDir: string;
  readonly checkpointEvery: number;
  readonly checkpointIntervalMs: number;
  readonly keyId: string;
  readonly keystoreDir: string;
  readonly workers: number;
  readonly origin: string;
  readonly memoryMaxBytes: number;
  readonly retryAfterSeconds: number;
  readonly crypto: CryptoBackend;
  readonly pqSign: boolean;
  /** PostgreSQL shipping (docs/scaling.md): the database URL, or undefined when off. */
  readonly pgUrl: string | undefined;
  readonly pgBatch: number;
  readonly pgSchema: string;
  readonly redact: Redactor;
}

/** Programmatic options; every one also has an AUDIT_* variable except `redact`. */
export interface AuditOptions {
  enabled?: boolean;
  queueDepth?: number;
  longLivedSlots?: number;
  longLivedAfterMs?: number;
  batchMax?: number;
  batchWindowMs?: number;
  walEnabled?: boolean;
  walDir?: string;
  walBatch?: number;
  walWindowMs?: number;
  walSegmentBytes?: number;
  exportEnabled?: boolean;
  exportDir?: string;
  checkpointEvery?: number;
  checkpointIntervalMs?: number;
  keyId?: string;
  keystoreDir?: string;
  workers?: number;
  origin?: string;
  memoryMaxBytes?: number;
  retryAfterSeconds?: number;
  crypto?: CryptoBackend;
  pqSign?: boolean;
  pgUrl?: string | undefined;
  pgBatch?: number;
  pgSchema?: string;
  redact?: RedactOption;
}

type Kind = { type: 'bool' } | { type: 'int'; min: number; max: number } | { type: 'string'; check?: (s: string) => string | undefined } | { type: 'enum'; values: readonly string[] };

interface KeySpec {
  readonly env: string;
  readonly kind: Kind;
}

/** Options a running engine can take without a restart. */
export const RELOADABLE_KEYS = [
  'queueDepth',
  'longLivedSlots',
  'longLivedAfterMs',
  'batchMax',
  'batchWindowMs',
  'walBatch',
  'walWindowMs',
  'checkpointEvery',
  'checkpointIntervalMs',
  'keyId',
  'retryAfterSeconds',
] as const;
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

const MAX_DEPTH = 1_000_000;
/** Worker lanes: one thread each; more than a machine's cores only adds contention. */
export const MAX_WORKERS = 64;

export const CONFIG_KEYS = {
  enabled: { env: 'AUDIT_ENABLED', kind: { type: 'bool' } },
  queueDepth: { env: 'AUDIT_QUEUE_DEPTH', kind: { type: 'int', min: 1, max: MAX_DEPTH } },
  longLivedSlots: { env: 'AUDIT_LONG_LIVED_SLOTS', kind: { type: 'int', min: 0, max: MAX_DEPTH } },
  longLivedAfterMs: { env: 'AUDIT_LONG_LIVED_AFTER_MS', kind: { type: 'int', min: 10, max: 3_600_000 } },
  batchMax: { env: 'AUDIT_BATCH_MAX', kind: { type: 'int', min: 1, max: 65_536 } },
  batchWindowMs: { env: 'AUDIT_BATCH_WINDOW_MS', kind: { type: 'int', min: 0, max: 1000 } },
  walEnabled: { env: 'AUDIT_WAL_ENABLED', kind: { type: 'bool' } },
  walDir: { env: 'AUDIT_WAL_DIR', kind: { type: 'string' } },
  walBatch: { env: 'AUDIT_WAL_BATCH', kind: { type: 'int', min: 1, max: 4096 } },
  walWindowMs: { env: 'AUDIT_WAL_WINDOW_MS', kind: { type: 'int', min: 0, max: 1000 } },
  walSegmentBytes: { env: 'AUDIT_WAL_SEGMENT_BYTES', kind: { type: 'int', min: 64 * 1024, max: 2 ** 40 } },
  exportEnabled: { env: 'AUDIT_EXPORT_ENABLED', kind: { type: 'bool' } },
  exportDir: { env: 'AUDIT_EXPORT_DIR', kind: { type: 'string' } },
  checkpointEvery: { env: 'AUDIT_CHECKPOINT_EVERY', kind: { type: 'int', min: 1, max: 100_000_000 } },
  checkpointIntervalMs: { env: 'AUDIT_CHECKPOINT_INTERVAL_MS', kind: { type: 'int', min: 100, max: 86_400_000 } },
  keyId: { env: 'AUDIT_KEY_ID', kind: { type: 'string', check: (s) => (/^[A-Za-z0-9._-]{1,64}$/.test(s) ? undefined : '1–64 characters from [A-Za-z0-9._-]') } },
  keystoreDir: { env: 'AUDIT_KEYSTORE_DIR', kind: { type: 'string' } },
  workers: { env: 'AUDIT_WORKERS', kind: { type: 'int', min: 0, max: MAX_WORKERS } },
  origin: { env: 'AUDIT_ORIGIN', kind: { type: 'string', check: (s) => (isValidOrigin(s) ? undefined : 'printable ASCII without spaces or "+", 1–255 bytes') } },
  memoryMaxBytes: { env: 'AUDIT_MEMORY_MAX_BYTES', kind: { type: 'int', min: 1024 * 1024, max: 2 ** 40 } },
  retryAfterSeconds: { env: 'AUDIT_RETRY_AFTER_SECONDS', kind: { type: 'int', min: 1, max: 3600 } },
  crypto: { env: 'AUDIT_CRYPTO', kind: { type: 'enum', values: ['auto', 'fast', 'pure'] } },
  pqSign: { env: 'AUDIT_PQ_SIGN', kind: { type: 'bool' } },
  pgUrl: { env: 'AUDIT_PG_URL', kind: { type: 'string', check: (s) => (/^postgres(ql)?:\/\/./.test(s) && URL.canParse(s) ? undefined : 'a postgres:// or postgresql:// URL') } },
  pgBatch: { env: 'AUDIT_PG_BATCH', kind: { type: 'int', min: 1, max: 4096 } },
  pgSchema: { env: 'AUDIT_PG_SCHEMA', kind: { type: 'string', check: (s) => (/^[a-z_][a-z0-9_]{0,62}$/.test(s) ? undefined : 'a lowercase SQL identifier ([a-z_][a-z0-9_]*, ≤ 63 characters)') } },
} as const satisfies Record<Exclude<keyof AuditOptions, 'redact'>, KeySpec>;

/** A URL's password is never echoed in an error message (it may end up in logs). */
export function redactUrlPassword(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

function configError(name: string, value: unknown, allowed: string): AuditError {
  // Neither a URL's password nor anything that looks like a key (a pasted seed or key file) is echoed.
  return new AuditError('AUDIT_CONFIG_INVALID', `${name}=${typeof value === 'string' ? quotedUnlessSecret(redactUrlPassword(value), 1_000_000) : describe(value)} is invalid: expected ${allowed}`, {
    key: name,
  });
}

function allowedText(kind: Kind): string {
  switch (kind.type) {
    case 'bool':
      return 'true or false';
    case 'int':
      return `an integer from ${kind.min} to ${kind.max}`;
    case 'enum':
      return kind.values.join(' | ');
    case 'string':
      return 'a non-empty string';
  }
}

function fromEnv(name: string, raw: string, kind: Kind): unknown {
  const v = raw.trim();
  switch (kind.type) {
    case 'bool':
      if (/^(true|1|yes|on)$/i.test(v)) return true;
      if (/^(false|0|no|off)$/i.test(v)) return false;
      throw configError(name, raw, 'true or false');
    case 'int':
      if (!/^[0-9]+$/.test(v)) throw configError(name, raw, allowedText(kind));
      return Number(v);
    default:
      return v;
  }
}

/** `shown` is what the user wrote (the raw variable text for AUDIT_*), named in the error. */
function check(name: string, value: unknown, kind: Kind, shown: unknown = value): unknown {
  switch (kind.type) {
    case 'bool':
      if (typeof value !== 'boolean') throw configError(name, shown, 'true or false');
      return value;
    case 'int':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < kind.min || value > kind.max) throw configError(name, shown, allowedText(kind));
      return value;
    case 'enum':
      if (typeof value !== 'string' || !kind.values.includes(value)) throw configError(name, shown, allowedText(kind));
      return value;
    case 'string': {
      if (typeof value !== 'string' || value.length === 0) throw configError(name, shown, 'a non-empty string');
      const why = kind.check?.(value);
      if (why !== undefined) throw configError(name, shown, why);
      return value;
    }
  }
}

/** Default origin: `ron-audit.local/<host>/<boot id>`; a fresh boot id per engine, since a Micronode log lives as long as its process. */
export function defaultOrigin(): string {
  const host = hostname().replace(/[^\x21-\x2a\x2c-\x7e]/g, '-').slice(0, 64) || 'host';
  const boot = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, '0')).join('');
  return `ron-audit.local/${host}/${boot}`;
}

/**
 * Resolve options + environment into a frozen config. Throws AUDIT_CONFIG_INVALID on the first
 * bad value. Unknown programmatic options are errors too (a typo must not silently do nothing).
 */
export function resolveConfig(options: AuditOptions = {}, env: Readonly<Record<string, string | undefined>> = process.env): AuditConfig {
  if (options === null || typeof options !== 'object') throw configError('options', options, 'an options object');
  for (const key of Object.keys(options)) {
    if (key !== 'redact' && !(key in CONFIG_KEYS)) throw configError(key, (options as Record<string, unknown>)[key], `a known option (${Object.keys(CONFIG_KEYS).join(', ')}, redact)`);
  }
  const out: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const [key, spec] of Object.entries(CONFIG_KEYS) as [keyof typeof CONFIG_KEYS, KeySpec][]) {
    const opt = (options as Record<string, unknown>)[key];
    const raw = env[spec.env];
    if (opt !== undefined) {
      out[key] = check(key, opt, spec.kind);
      given.add(key);
    } else if (raw !== undefined && typeof raw !== 'string') {
      throw configError(spec.env, raw, 'a string (an environment variable)');
    } else if (raw !== undefined && raw !== '') {
      out[key] = check(spec.env, fromEnv(spec.env, raw, spec.kind), spec.kind, raw);
      given.add(key);
    }
  }
  const depth = (out['queueDepth'] as number | undefined) ?? DEFAULT_QUEUE_DEPTH;
  const cfg: Omit<AuditConfig, 'redact'> = {
    enabled: (out['enabled'] as boolean | undefined) ?? DEFAULT_ENABLED,
    queueDepth: depth,
    longLivedSlots: (out['longLivedSlots'] as number | undefined) ?? Math.max(1, Math.floor(depth / 4)),
    longLivedAfterMs: (out['longLivedAfterMs'] as number | undefined) ?? DEFAULT_LONG_LIVED_AFTER_MS,
    batchMax: (out['batchMax'] as number | undefined) ?? DEFAULT_BATCH_MAX,
    batchWindowMs: (out['batchWindowMs'] as number | undefined) ?? DEFAULT_BATCH_WINDOW_MS,
    walEnabled: (out['walEnabled'] as boolean | undefined) ?? DEFAULT_WAL_ENABLED,
    walDir: (out['walDir'] as string | undefined) ?? DEFAULT_WAL_DIR,
    walBatch: (out['walBatch'] as number | undefined) ?? DEFAULT_WAL_BATCH,
    walWindowMs: (out['walWindowMs'] as number | undefined) ?? DEFAULT_WAL_WINDOW_MS,
    walSegmentBytes: (out['walSegmentBytes'] as number | undefined) ?? DEFAULT_WAL_SEGMENT_BYTES,
    exportEnabled: (out['exportEnabled'] as boolean | undefined) ?? DEFAULT_EXPORT_ENABLED,
    exportDir: (out['exportDir'] as string | undefined) ?? DEFAULT_EXPORT_DIR,
    checkpointEvery: (out['checkpointEvery'] as number | undefined) ?? DEFAULT_CHECKPOINT_EVERY,
    checkpointIntervalMs: (out['checkpointIntervalMs'] as number | undefined) ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
    keyId: (out['keyId'] as string | undefined) ?? DEFAULT_KEY_ID,
    keystoreDir: (out['keystoreDir'] as string | undefined) ?? DEFAULT_KEYSTORE_DIR,
    workers: (out['workers'] as number | undefined) ?? DEFAULT_WORKERS,
    origin: (out['origin'] as string | undefined) ?? defaultOrigin(),
    memoryMaxBytes: (out['memoryMaxBytes'] as number | undefined) ?? DEFAULT_MEMORY_MAX_BYTES,
    retryAfterSeconds: (out['retryAfterSeconds'] as number | undefined) ?? DEFAULT_RETRY_AFTER_SECONDS,
    crypto: (out['crypto'] as CryptoBackend | undefined) ?? DEFAULT_CRYPTO,
    pqSign: (out['pqSign'] as boolean | undefined) ?? DEFAULT_PQ_SIGN,
    pgUrl: (out['pgUrl'] as string | undefined) ?? DEFAULT_PG_URL,
    pgBatch: (out['pgBatch'] as number | undefined) ?? DEFAULT_PG_BATCH,
    pgSchema: (out['pgSchema'] as string | undefined) ?? DEFAULT_PG_SCHEMA,
  };
  // Shipping reads the backlog from the WAL after an outage or a restart (bounded memory).
  if (cfg.pgUrl !== undefined && !cfg.walEnabled) {
    const name = given.has('pgUrl') && options.pgUrl !== undefined ? 'pgUrl' : 'AUDIT_PG_URL';
    throw new AuditError('AUDIT_CONFIG_INVALID', `${name} is set but AUDIT_WAL_ENABLED (walEnabled) is false: PostgreSQL shipping requires the write-ahead log (set AUDIT_WAL_ENABLED=true)`, { key: name });
  }
  let redact: Redactor;
  try {
    redact = createRedactor(options.redact);
  } catch (err) {
    throw new AuditError('AUDIT_CONFIG_INVALID', `redact is invalid: ${(err as Error).message}`, { key: 'redact' });
  }
  return Object.freeze({ ...cfg, redact });
}

/**
 * Hot reload (runbook §6.5), validated whole before anything changes: the running config with
 * `changes` applied, and the keys whose value changed. Throws AUDIT_CONFIG_INVALID for a bad
 * value, or for a change to a key outside RELOADABLE_KEYS (redaction included: the running
 * redactor is kept).
 */
export function planReload(current: AuditConfig, changes: AuditOptions): { next: AuditConfig; changed: string[] } {
  if (changes === null || typeof changes !== 'object') throw invalidArgument('changes', 'an options object', changes);
  const { redact: _redact, ...rest } = current;
  const next: AuditConfig = Object.freeze({ ...resolveConfig({ ...rest, ...changes } as AuditOptions, {}), redact: current.redact });
  const changed = (Object.keys(changes) as (keyof AuditOptions)[]).filter((k) => k !== 'redact' && next[k as keyof AuditConfig] !== current[k as keyof AuditConfig]);
  const refused: string[] = changed.filter((k) => !(RELOADABLE_KEYS as readonly string[]).includes(k));
  if (changes.redact !== undefined) refused.push('redact');
  if (refused.length > 0) {
    throw new AuditError('AUDIT_CONFIG_INVALID', `${refused.join(', ')} cannot change while running (restart the host); reloadable: ${RELOADABLE_KEYS.join(', ')}`, { keys: refused });
  }
  return { next, changed };
}
