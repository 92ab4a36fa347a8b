import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { thrown } from '../test/support/engine.js';
import {
  MAX_WORKERS,
  CONFIG_KEYS,
  DEFAULT_BATCH_MAX,
  DEFAULT_BATCH_WINDOW_MS,
  DEFAULT_CHECKPOINT_EVERY,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_CRYPTO,
  DEFAULT_ENABLED,
  DEFAULT_EXPORT_DIR,
  DEFAULT_EXPORT_ENABLED,
  DEFAULT_KEY_ID,
  DEFAULT_KEYSTORE_DIR,
  DEFAULT_LONG_LIVED_AFTER_MS,
  DEFAULT_MEMORY_MAX_BYTES,
  DEFAULT_PG_BATCH,
  DEFAULT_PG_SCHEMA,
  DEFAULT_PQ_SIGN,
  DEFAULT_QUEUE_DEPTH,
  DEFAULT_RETRY_AFTER_SECONDS,
  DEFAULT_WAL_BATCH,
  DEFAULT_WAL_DIR,
  DEFAULT_WAL_ENABLED,
  DEFAULT_WAL_SEGMENT_BYTES,
  DEFAULT_WAL_WINDOW_MS,
  DEFAULT_WORKERS,
  resolveConfig,
  type AuditOptions,
} from './config.js';
import { AuditError } from './errors.js';
import { createAudit } from './create-audit.js';

function configError(fn: () => unknown): AuditError {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(AuditError);
  expect((err as AuditError).code).toBe('AUDIT_CONFIG_INVALID');
  return err as AuditError;
}

/** A valid value for every key, as an env string and as a programmatic value, different from the default. */
const VALID: Record<keyof typeof CONFIG_KEYS, [string, unknown]> = {
  enabled: ['false', false],
  queueDepth: ['128', 128],
  longLivedSlots: ['7', 7],
  longLivedAfterMs: ['250', 250],
  batchMax: ['64', 64],
  batchWindowMs: ['5', 5],
  walEnabled: ['false', false],
  walDir: ['/var/lib/ron/audit/wal', '/var/lib/ron/audit/wal'],
  walBatch: ['8', 8],
  walWindowMs: ['5', 5],
  walSegmentBytes: ['1048576', 1048576],
  exportEnabled: ['false', false],
  exportDir: ['/var/lib/ron/audit/export', '/var/lib/ron/audit/export'],
  checkpointEvery: ['500', 500],
  checkpointIntervalMs: ['2000', 2000],
  keyId: ['aud-2025q4', 'aud-2025q4'],
  keystoreDir: ['/etc/ron/keys', '/etc/ron/keys'],
  workers: ['0', 0],
  origin: ['audit.example.com/svc-gateway/pod-7f9c', 'audit.example.com/svc-gateway/pod-7f9c'],
  memoryMaxBytes: ['2097152', 2097152],
  retryAfterSeconds: ['5', 5],
  crypto: ['pure', 'pure'],
  pqSign: ['true', true],
  pgUrl: ['postgres://ron_audit_writer@db.example:5432/audit', 'postgres://ron_audit_writer@db.example:5432/audit'],
  pgBatch: ['256', 256],
  pgSchema: ['audit_trail', 'audit_trail'],
};

/** Options a key needs besides itself to be valid (PostgreSQL shipping requires the WAL). */
const REQUIRES: Partial<Record<keyof typeof CONFIG_KEYS, { options: AuditOptions; env: Record<string, string> }>> = {
  pgUrl: { options: { walEnabled: true }, env: { AUDIT_WAL_ENABLED: 'true' } },
};

/** Every option whose default is a named constant; longLivedSlots and origin are derived (tested below). */
const NAMED_DEFAULTS = {
  enabled: DEFAULT_ENABLED,
  queueDepth: DEFAULT_QUEUE_DEPTH,
  longLivedAfterMs: DEFAULT_LONG_LIVED_AFTER_MS,
  batchMax: DEFAULT_BATCH_MAX,
  batchWindowMs: DEFAULT_BATCH_WINDOW_MS,
  walEnabled: DEFAULT_WAL_ENABLED,
  walDir: DEFAULT_WAL_DIR,
  walBatch: DEFAULT_WAL_BATCH,
  walWindowMs: DEFAULT_WAL_WINDOW_MS,
  walSegmentBytes: DEFAULT_WAL_SEGMENT_BYTES,
  exportEnabled: DEFAULT_EXPORT_ENABLED,
  exportDir: DEFAULT_EXPORT_DIR,
  checkpointEvery: DEFAULT_CHECKPOINT_EVERY,
  checkpointIntervalMs: DEFAULT_CHECKPOINT_INTERVAL_MS,
  keyId: DEFAULT_KEY_ID,
  keystoreDir: DEFAULT_KEYSTORE_DIR,
  workers: DEFAULT_WORKERS,
  memoryMaxBytes: DEFAULT_MEMORY_MAX_BYTES,
  retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS,
  crypto: DEFAULT_CRYPTO,
  pqSign: DEFAULT_PQ_SIGN,
  pgBatch: DEFAULT_PG_BATCH,
  pgSchema: DEFAULT_PG_SCHEMA,
};

describe('resolveConfig defaults', () => {
  it('uses the named constants when nothing is set', () => {
    const c = resolveConfig({}, {});
    expect(c).toMatchObject(NAMED_DEFAULTS);
    // Derived defaults: a quarter of the queue for long-lived requests, and a per-process origin.
    expect(c.longLivedSlots).toBe(DEFAULT_QUEUE_DEPTH / 4);
    expect(resolveConfig({ queueDepth: 2 }, {}).longLivedSlots).toBe(1);
    expect(c.origin).toMatch(/^ron-audit\.local\/[\x21-\x2a\x2c-\x7e]+\/[0-9a-f]{8}$/);
    expect(c.origin).toContain(hostname().slice(0, 8).replace(/[^\x21-\x2a\x2c-\x7e]/g, '-'));
    expect(resolveConfig({}, {}).origin).not.toBe(c.origin);
  });

  it('covers every option key in the defaults test and the table of valid values', () => {
    expect(Object.keys(VALID).sort()).toEqual(Object.keys(CONFIG_KEYS).sort());
    // pgUrl has no default: shipping is off until a URL is given.
    expect([...Object.keys(NAMED_DEFAULTS), 'longLivedSlots', 'origin', 'pgUrl'].sort()).toEqual(Object.keys(CONFIG_KEYS).sort());
    expect(resolveConfig({}, {}).pgUrl).toBeUndefined();
  });

  it('returns a frozen object', () => {
    const c = resolveConfig({}, {});
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c as { queueDepth: number }).queueDepth = 1;
    }).toThrow(TypeError);
    expect(Object.isFrozen(c.redact)).toBe(true);
  });
});

describe('every AUDIT_* variable and every option', () => {
  it.each(Object.entries(CONFIG_KEYS).map(([key, spec]) => [key, spec.env, spec] as const))('%s is read from %s and from the option, the option winning', (key, _env, spec) => {
    const [envText, value] = VALID[key as keyof typeof CONFIG_KEYS];
    const req = REQUIRES[key as keyof typeof CONFIG_KEYS] ?? { options: {}, env: {} };
    expect((resolveConfig(req.options, { ...req.env, [spec.env]: envText }) as unknown as Record<string, unknown>)[key]).toEqual(value);
    expect((resolveConfig({ ...req.options, [key]: value } as AuditOptions, {}) as unknown as Record<string, unknown>)[key]).toEqual(value);
    if (spec.kind.type !== 'bool' && key !== 'workers' && key !== 'pgUrl') {
      const other = resolveConfig({}, {})[key as keyof typeof CONFIG_KEYS];
      expect((resolveConfig({ [key]: other } as AuditOptions, { [spec.env]: envText }) as unknown as Record<string, unknown>)[key]).toEqual(other);
    }
  });

  it('reads variables from createAudit({ env })', async () => {
    const engine = createAudit({ env: { AUDIT_QUEUE_DEPTH: '16', AUDIT_ORIGIN: 'a.example/x', AUDIT_ENABLED: 'off' } });
    expect(engine.config).toMatchObject({ queueDepth: 16, origin: 'a.example/x', enabled: false });
    await engine.close();
  });

  it.each(['true', 'TRUE', '1', 'yes', 'on', ' true '])('accepts %j as true', (v) => {
    expect(resolveConfig({}, { AUDIT_ENABLED: v }).enabled).toBe(true);
  });
  it.each(['false', 'False', '0', 'no', 'off'])('accepts %j as false', (v) => {
    expect(resolveConfig({}, { AUDIT_ENABLED: v }).enabled).toBe(false);
  });

  it('treats an empty variable as unset', () => {
    expect(resolveConfig({}, { AUDIT_QUEUE_DEPTH: '' }).queueDepth).toBe(DEFAULT_QUEUE_DEPTH);
  });
});

describe('a bad value is AUDIT_CONFIG_INVALID naming the variable, the value and what is allowed', () => {
  const envCases: [string, string, string][] = [
    ['AUDIT_QUEUE_DEPTH', 'lots', 'an integer from 1 to 1000000'],
    ['AUDIT_QUEUE_DEPTH', '-1', 'an integer from 1 to 1000000'],
    ['AUDIT_QUEUE_DEPTH', '0', 'an integer from 1 to 1000000'],
    ['AUDIT_QUEUE_DEPTH', '99999999999999999999', 'an integer from 1 to 1000000'],
    ['AUDIT_QUEUE_DEPTH', '2000000', 'an integer from 1 to 1000000'],
    ['AUDIT_QUEUE_DEPTH', '1.5', 'an integer from 1 to 1000000'],
    ['AUDIT_QUEUE_DEPTH', '1e3', 'an integer from 1 to 1000000'],
    ['AUDIT_QUEUE_DEPTH', '0x10', 'an integer from 1 to 1000000'],
    ['AUDIT_BATCH_MAX', '0', 'an integer from 1 to 65536'],
    ['AUDIT_LONG_LIVED_AFTER_MS', '5', 'an integer from 10 to 3600000'],
    ['AUDIT_MEMORY_MAX_BYTES', '1000', 'an integer from 1048576 to 1099511627776'],
    ['AUDIT_RETRY_AFTER_SECONDS', '0', 'an integer from 1 to 3600'],
    ['AUDIT_ENABLED', 'maybe', 'true or false'],
    ['AUDIT_WAL_ENABLED', 'yes please', 'true or false'],
    ['AUDIT_CRYPTO', 'fastest', 'auto | fast | pure'],
    ['AUDIT_ORIGIN', 'audit.example.com/my svc', 'printable ASCII without spaces or "+"'],
    ['AUDIT_ORIGIN', 'audit.example.com/a+b', 'printable ASCII without spaces or "+"'],
    ['AUDIT_ORIGIN', 'é.example', 'printable ASCII without spaces or "+"'],
    ['AUDIT_ORIGIN', 'x'.repeat(256), 'printable ASCII without spaces or "+"'],
    ['AUDIT_KEY_ID', 'aud/2025', '1–64 characters from [A-Za-z0-9._-]'],
  ];
  it.each(envCases)('%s=%j', (name, value, allowed) => {
    const err = configError(() => resolveConfig({}, { [name]: value }));
    expect(err.message).toContain(name);
    expect(err.message).toContain(JSON.stringify(value));
    expect(err.message).toContain(allowed);
    expect(err.details['key']).toBe(name);
  });

  const optionCases: [string, unknown, string][] = [
    ['queueDepth', '10', '"10"'],
    ['queueDepth', 0, 'number 0'],
    ['queueDepth', -4, 'number -4'],
    ['queueDepth', 1.5, 'number 1.5'],
    ['queueDepth', Number.NaN, 'number NaN'],
    ['queueDepth', Number.POSITIVE_INFINITY, 'number Infinity'],
    ['queueDepth', 2 ** 60, 'number'],
    ['queueDepth', null, 'null'],
    ['enabled', 'true', '"true"'],
    ['enabled', 1, 'number 1'],
    ['crypto', 'FAST', '"FAST"'],
    ['origin', 'has space', '"has space"'],
    ['origin', '', '""'],
    ['keyId', 42, 'number 42'],
    ['walDir', '', '""'],
  ];
  it.each(optionCases)('option %s = %o', (name, value, shown) => {
    const err = configError(() => resolveConfig({ [name]: value } as AuditOptions, {}));
    expect(err.message).toContain(name);
    expect(err.message).toContain(shown);
    expect(err.message).toMatch(/expected .+/);
  });

  it('an unknown option is an error naming it, not silently ignored', () => {
    const err = configError(() => resolveConfig({ queueDept: 16 } as AuditOptions, {}));
    expect(err.message).toContain('queueDept');
    expect(err.message).toContain('queueDepth');
    configError(() => createAudit({ queueDept: 16 } as never));
  });

  it('a bad redact option is AUDIT_CONFIG_INVALID', () => {
    for (const redact of [5, 'authorization', { paths: 'a.b' }, { paths: ['a..b'] }, { censor: 5 }, { headers: [''] }, { keys: 'password' }, { path: ['attributes.secret'] }, { remove: 'yes' }, [7]]) {
      const err = configError(() => resolveConfig({ redact } as AuditOptions, {}));
      expect(err.message).toMatch(/^redact is invalid: /);
    }
  });

  it('a later bad value is reported even when earlier ones are fine (nothing is defaulted silently)', () => {
    const err = configError(() => resolveConfig({}, { AUDIT_QUEUE_DEPTH: '64', AUDIT_BATCH_MAX: 'x' }));
    expect(err.message).toContain('AUDIT_BATCH_MAX');
  });
});

describe('AUDIT_WORKERS (worker lanes)', () => {
  it('0 (the default) keeps the in-thread appender; 1 to MAX_WORKERS are lanes', () => {
    expect(resolveConfig({}, {})).toMatchObject({ workers: 0 });
    expect(resolveConfig({}, { AUDIT_WORKERS: '2' })).toMatchObject({ workers: 2 });
    expect(resolveConfig({ workers: MAX_WORKERS }, {})).toMatchObject({ workers: MAX_WORKERS });
  });

  it.each([
    ['-1', /AUDIT_WORKERS="-1" is invalid/],
    [String(MAX_WORKERS + 1), new RegExp(`AUDIT_WORKERS="${MAX_WORKERS + 1}" is invalid`)],
    ['1.5', /AUDIT_WORKERS="1.5" is invalid/],
    ['two', /AUDIT_WORKERS="two" is invalid/],
  ])('AUDIT_WORKERS=%s is refused, naming the variable', (raw, message) => {
    expect(configError(() => resolveConfig({}, { AUDIT_WORKERS: raw })).message).toMatch(message);
  });

  it('programmatic workers are checked the same way', () => {
    expect(configError(() => resolveConfig({ workers: -1 }, {})).message).toMatch(/workers=number -1 is invalid/);
    expect(configError(() => resolveConfig({ workers: '2' as unknown as number }, {})).message).toMatch(/workers="2" is invalid/);
  });
});
