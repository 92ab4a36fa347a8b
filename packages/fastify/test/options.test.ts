import { isAuditError } from '@ron-audit/core';
import { Registry } from 'prom-client';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { audit, type FastifyAuditOptions } from '../src/index.js';
import { engine, engineOptions } from './helpers.js';

async function bootError(options: unknown, routes?: (f: ReturnType<typeof Fastify>) => void): Promise<unknown> {
  const f = Fastify();
  try {
    await f.register(audit, options as FastifyAuditOptions);
    routes?.(f);
    await f.ready();
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await f.close().catch(() => undefined);
  }
}

describe('wrong options fail the boot with an error naming the option', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['level not a level', { level: 'loud' }, 'level'],
    ['level wrong type', { level: 3 }, 'level'],
    ['rules not an array', { rules: 'GET /x' }, 'rules'],
    ['rule without a valid level', { rules: [{ route: '/x', level: 'all' }] }, 'rules[0].level'],
    ['rule route wrong type', { rules: [{ route: 5, level: 'none' }] }, 'rules[0].route'],
    ['rule method wrong type', { rules: [{ method: 7, level: 'none' }] }, 'rules[0].method'],
    ['retryAfter zero', { retryAfter: 0 }, 'retryAfter'],
    ['retryAfter negative', { retryAfter: -1 }, 'retryAfter'],
    ['retryAfter fractional', { retryAfter: 1.5 }, 'retryAfter'],
    ['retryAfter NaN', { retryAfter: Number.NaN }, 'retryAfter'],
    ['retryAfter string', { retryAfter: '5' }, 'retryAfter'],
    ['retryAfter huge', { retryAfter: 1e9 }, 'retryAfter'],
    ['maxBodyBytes negative', { maxBodyBytes: -1 }, 'maxBodyBytes'],
    ['maxBodyBytes fractional', { maxBodyBytes: 10.5 }, 'maxBodyBytes'],
    ['maxBodyBytes string', { maxBodyBytes: '8k' }, 'maxBodyBytes'],
    ['maxBodyBytes Infinity', { maxBodyBytes: Number.POSITIVE_INFINITY }, 'maxBodyBytes'],
    ['maxBodyBytes above a record', { maxBodyBytes: 1 << 20 }, 'maxBodyBytes'],
    ['skipOnError not boolean', { skipOnError: 'yes' }, 'skipOnError'],
    ['actor not a function', { actor: 'user' }, 'actor'],
    ['readiness a number', { readiness: 5 }, 'readiness'],
    ['readiness not a path', { readiness: 'readyz' }, 'readiness'],
    ['metrics not a path', { metrics: 'metrics' }, 'metrics'],
    ['metrics on the readiness path', { metrics: '/readyz', readiness: true }, 'metrics'],
    ['registry not a registry', { registry: {} }, 'registry'],
    ['audit not an engine', { audit: { reserve: 1 } }, 'audit'],
    ['engine not an object', { engine: 'default' }, 'engine'],
    ['durable not boolean', { durable: 'yes' }, 'durable'],
    ['durable null', { durable: null }, 'durable'],
    ['durableFailOpen not boolean', { durableFailOpen: 1 }, 'durableFailOpen'],
    ['a typo', { skipOnErorr: true }, 'skipOnErorr'],
  ];
  it.each(cases)('%s', async (_name, bad, option) => {
    const err = await bootError({ engine: await engineOptions(), ...bad });
    expect(isAuditError(err, 'AUDIT_CONFIG_INVALID') || isAuditError(err, 'AUDIT_INVALID_ARGUMENT')).toBe(true);
    expect((err as Error).message).toContain(option);
  });

  it('engine options are checked by the core (AUDIT_CONFIG_INVALID naming the option)', async () => {
    const err = await bootError({ engine: await engineOptions({ queueDepth: 0 }) });
    expect(isAuditError(err, 'AUDIT_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain('queueDepth');
  });

  it('an existing engine excludes engine options and a different registry', async () => {
    const e = await engine();
    const both = await bootError({ audit: e, engine: { queueDepth: 5 } });
    expect((both as Error).message).toContain('engine');
    const otherRegistry = await bootError({ audit: e, registry: new Registry() });
    expect((otherRegistry as Error).message).toContain('registry');
    expect(await bootError({ audit: e, registry: e.metrics.registry })).toBeUndefined();
    await e.close();
  });

  it('a route config.audit with a bad level, action or key fails when the route is added', async () => {
    const opts = { engine: await engineOptions() };
    const cases: [Record<string, unknown>, string][] = [
      [{ level: 'everything' }, 'level'],
      [{ action: '' }, 'action'],
      [{ longLived: 'yes' }, 'longLived'],
      [{ durable: 'true' }, 'durable'],
      [{ levle: 'none' }, 'levle'],
    ];
    for (const [config, name] of cases) {
      const err = await bootError(opts, (f) => f.get('/x', { config: { audit: config as never } }, async () => 'ok'));
      expect(isAuditError(err, 'AUDIT_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain('GET /x');
      expect((err as Error).message).toContain(name);
    }
  });

  it('accepts every option at its documented shape', async () => {
    const registry = new Registry();
    const err = await bootError({
      engine: await engineOptions(),
      registry,
      level: 'request',
      rules: [{ method: ['GET', 'HEAD'], route: /^\/x/, level: 'none' }],
      maxBodyBytes: 0,
      skipOnError: true,
      retryAfter: 30,
      actor: () => undefined,
      readiness: '/ready',
      metrics: '/m',
      durable: true,
      durableFailOpen: false,
    });
    expect(err).toBeUndefined();
  });
});
