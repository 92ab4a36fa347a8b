import { readFile } from 'node:fs/promises';
import { parse as parseToml } from 'smol-toml';
import { CONFIG_KEYS, resolveConfig, type AuditConfig, type AuditOptions } from './config.js';
import { AuditError } from './errors.js';

/**
 * Configuration files (runbook §6.5): the host's `/etc/ron/<host>.toml`, or an env file. Both map
 * onto exactly the options resolveConfig validates, so `ronctl config check FILE` accepts what the
 * engine would accept — and nothing else.
 *
 * TOML: top-level keys named like the variables (`AUDIT_QUEUE_DEPTH = 4096`), and/or an `[audit]`
 * table with option names in camelCase or snake_case (`queue_depth = 4096`). Unknown keys are
 * errors. Env file: `KEY=value` lines, `#` comments, optional `export ` prefix and quotes.
 */

const ENV_TO_KEY = new Map<string, string>(Object.entries(CONFIG_KEYS).map(([key, spec]) => [spec.env, key]));
const SNAKE_TO_KEY = new Map(Object.keys(CONFIG_KEYS).map((key) => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), key]));

function invalid(path: string, message: string): AuditError {
  return new AuditError('AUDIT_CONFIG_INVALID', `${path}: ${message}`, { file: path });
}

/** Parse an env file into variables (values stay strings; resolveConfig validates them). */
export function parseEnvFile(text: string, path = 'env file'): Record<string, string> {
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw invalid(path, `line ${i + 1} is not KEY=value`);
    let value = m[2]!;
    if (/^"(.*)"$/.test(value) || /^'(.*)'$/.test(value)) value = value.slice(1, -1);
    env[m[1]!] = value;
  });
  return env;
}

/** Options and variables from a TOML config. */
export function parseTomlConfig(text: string, path = 'config file'): { options: AuditOptions; env: Record<string, string> } {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw invalid(path, `not valid TOML: ${(err as Error).message.split('\n')[0]}`);
  }
  const env: Record<string, string> = {};
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k === 'audit' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      for (const [ok, ov] of Object.entries(v as Record<string, unknown>)) {
        const key = (ok in CONFIG_KEYS ? ok : SNAKE_TO_KEY.get(ok)) ?? (ok === 'redact' ? 'redact' : undefined);
        if (key === undefined) throw invalid(path, `[audit] ${ok} is not a known option (known: ${[...SNAKE_TO_KEY.keys()].join(', ')}, redact)`);
        options[key] = ov;
      }
    } else if (ENV_TO_KEY.has(k)) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw invalid(path, `${k} must be a string, number or boolean, not ${Array.isArray(v) ? 'an array' : typeof v}`);
      env[k] = String(v);
    } else if (k.startsWith('AUDIT_')) {
      throw invalid(path, `${k} is not a known variable (known: ${[...ENV_TO_KEY.keys()].join(', ')})`);
    }
    // Other top-level keys and tables belong to the host (its own settings); they are not ours to judge.
  }
  return { options: options as AuditOptions, env };
}

export interface LoadedConfig {
  readonly options: AuditOptions;
  readonly env: Record<string, string>;
  /** The result of resolveConfig: what the engine would run with. */
  readonly config: AuditConfig;
}

/** Read and validate a config file (TOML when it ends in .toml, else an env file). */
export async function loadConfigFile(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const e = new AuditError('AUDIT_CONFIG_INVALID', `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { file: path, io: true });
    throw e;
  }
  const { options, env } = path.endsWith('.toml') ? parseTomlConfig(text, path) : { options: {}, env: parseEnvFile(text, path) };
  for (const k of Object.keys(env)) {
    if (!ENV_TO_KEY.has(k) && k.startsWith('AUDIT_')) throw invalid(path, `${k} is not a known variable`);
  }
  let config: AuditConfig;
  try {
    config = resolveConfig(options, env);
  } catch (err) {
    if (err instanceof AuditError) throw new AuditError(err.code, `${path}: ${err.message}`, { ...err.details, file: path });
    throw err;
  }
  return { options, env, config };
}

/** The options a file asks for, as reload() takes them (variables mapped to option names). */
export function optionsOf(loaded: LoadedConfig): AuditOptions {
  const out: Record<string, unknown> = { ...loaded.options };
  for (const [k, v] of Object.entries(loaded.env)) {
    const key = ENV_TO_KEY.get(k);
    if (key !== undefined && out[key] === undefined) out[key] = (loaded.config as unknown as Record<string, unknown>)[key] ?? v;
  }
  return out as AuditOptions;
}

/**
 * Reload a running engine from a config file (what a host's SIGHUP handler calls): validates the
 * file, then applies it with engine.reload() — all or nothing, naming what changed.
 */
export async function reloadFromFile(engine: { reload(changes: AuditOptions): Promise<{ changed: string[] }> }, path: string | undefined): Promise<{ changed: string[] }> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new AuditError('AUDIT_CONFIG_INVALID', 'no config file to reload: set AUDIT_CONFIG_FILE to a TOML or env file', { key: 'AUDIT_CONFIG_FILE' });
  }
  return engine.reload(optionsOf(await loadConfigFile(path)));
}
