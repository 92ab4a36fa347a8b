import { afterAll, describe, expect, it } from 'vitest';
import { isAuditError, type AuditEngine } from '@ron-audit/core';
import { audit, type ExpressAuditOptions } from './index.js';
import { cleanup, testEngine } from './test-support/fixture.js';

afterAll(cleanup);

/** [option named in the message, options] — each must be refused when the middleware is created. */
const WRONG: readonly (readonly [string, Record<string, unknown>])[] = [
  ['options', null as unknown as Record<string, unknown>],
  ['levl', { levl: 'request' }],
  ['level', { level: 'verbose' }],
  ['level', { level: '' }],
  ['level', { level: 7 }],
  ['rules', { rules: 'none' }],
  ['rules[0]', { rules: [null] }],
  ['rules[0].level', { rules: [{ route: '/x', level: 'all' }] }],
  ['rules[0].route', { rules: [{ route: 5, level: 'none' }] }],
  ['rules[1].method', { rules: [{ level: 'none' }, { method: 3, level: 'none' }] }],
  ['retryAfter', { retryAfter: 0 }],
  ['retryAfter', { retryAfter: 1.5 }],
  ['retryAfter', { retryAfter: Number.NaN }],
  ['retryAfter', { retryAfter: '5' }],
  ['retryAfter', { retryAfter: 3601 }],
  ['maxBodyBytes', { maxBodyBytes: -1 }],
  ['maxBodyBytes', { maxBodyBytes: Number.POSITIVE_INFINITY }],
  ['maxBodyBytes', { maxBodyBytes: '8kb' }],
  ['maxBodyBytes', { maxBodyBytes: 1e9 }],
  ['statusCode', { statusCode: 200 }],
  ['statusCode', { statusCode: '503' }],
  ['message', { message: '' }],
  ['message', { message: { error: 'x' } }],
  ['requestPropertyName', { requestPropertyName: '' }],
  ['requestPropertyName', { requestPropertyName: 'a-b' }],
  ['passOnStoreError', { passOnStoreError: 'yes' }],
  ['skip', { skip: true }],
  ['handler', { handler: 'json' }],
  ['actor', { actor: { id: 'x' } }],
  ['routeLabel', { routeLabel: '/x' }],
  ['readiness', { readiness: 'readyz' }],
  ['readiness', { readiness: 1 }],
  ['audit', { audit: {} }],
  ['engine', { engine: 'default' }],
  ['durable', { durable: 'yes' }],
  ['durable', { durable: null }],
  ['durableFailOpen', { durableFailOpen: 1 }],
];

describe('wrong options are refused at registration, naming the option', () => {
  it.each(WRONG)('%s in %j', (name, options) => {
    let thrown: unknown;
    try {
      audit(options as ExpressAuditOptions);
    } catch (err) {
      thrown = err;
    }
    expect(isAuditError(thrown, 'AUDIT_INVALID_ARGUMENT')).toBe(true);
    expect((thrown as Error).message).toContain(name);
  });

  it('refuses `engine` or `registry` together with an existing engine', async () => {
    const e: AuditEngine = await testEngine();
    try {
      expect(() => audit({ audit: e, engine: { queueDepth: 2 } })).toThrow(/engine/);
      expect(() => audit({ audit: e, registry: e.metrics.registry })).toThrow(/registry/);
    } finally {
      await e.close();
    }
  });

  it("passes the core's AUDIT_CONFIG_INVALID through for bad engine options", () => {
    let thrown: unknown;
    try {
      audit({ engine: { queueDepth: 0, env: {} } });
    } catch (err) {
      thrown = err;
    }
    expect(isAuditError(thrown, 'AUDIT_CONFIG_INVALID')).toBe(true);
    expect((thrown as Error).message).toContain('queueDepth');
  });

  it('refuses a bad route config when the route is declared', async () => {
    const e = await testEngine();
    try {
      const auditor = audit({ audit: e });
      expect(() => auditor.route({ level: 'loud' } as never)).toThrow(/level/);
      expect(() => auditor.route({ lvl: 'none' } as never)).toThrow(/lvl/);
      expect(() => auditor.route({ longLived: 'yes' } as never)).toThrow(/longLived/);
      expect(() => auditor.route({ durable: 1 } as never)).toThrow(/route\(config\)\.durable/);
      expect(() => auditor.route(null as never)).toThrow(/config/);
    } finally {
      await e.close();
    }
  });
});
