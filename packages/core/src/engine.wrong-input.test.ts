import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, metricValue, readyAudit, rejected, thrown } from '../test/support/engine.js';
import { createAudit } from './create-audit.js';
import type { AuditEngine } from './api.js';
import { AuditError, type AuditErrorCode } from './errors.js';

afterEach(cleanup);

function code(fn: () => unknown): AuditErrorCode {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(AuditError);
  return (err as AuditError).code;
}

async function asyncCode(p: () => Promise<unknown>): Promise<AuditErrorCode> {
  const err = await rejected(p());
  expect(err).toBeInstanceOf(AuditError);
  return (err as AuditError).code;
}

describe('createAudit(options) with wrong input', () => {
  it.each([
    ['null', null, 'AUDIT_INVALID_ARGUMENT'],
    ['a number', 5, 'AUDIT_INVALID_ARGUMENT'],
    ['a string', 'queueDepth=5', 'AUDIT_INVALID_ARGUMENT'],
    ['an array', [], 'AUDIT_INVALID_ARGUMENT'],
    ['a function', () => ({}), 'AUDIT_INVALID_ARGUMENT'],
    ['queueDepth as a string', { queueDepth: '64' }, 'AUDIT_CONFIG_INVALID'],
    ['queueDepth NaN', { queueDepth: Number.NaN }, 'AUDIT_CONFIG_INVALID'],
    ['an unknown option', { queue_depth: 64 }, 'AUDIT_CONFIG_INVALID'],
    ['redact as a number', { redact: 1 }, 'AUDIT_CONFIG_INVALID'],
    ['logger without methods', { logger: {} }, 'AUDIT_INVALID_ARGUMENT'],
    ['logger as a string', { logger: 'info' }, 'AUDIT_INVALID_ARGUMENT'],
    ['logger null', { logger: null }, 'AUDIT_INVALID_ARGUMENT'],
    ['signer without a key', { signer: { sign: () => new Uint8Array(64) } }, 'AUDIT_INVALID_ARGUMENT'],
    ['signer as a string', { signer: 'key' }, 'AUDIT_INVALID_ARGUMENT'],
    ['registry as a plain object', { registry: {} }, 'AUDIT_INVALID_ARGUMENT'],
    ['registry null', { registry: null }, 'AUDIT_INVALID_ARGUMENT'],
    ['env as a string', { env: 'AUDIT_QUEUE_DEPTH=5' }, 'AUDIT_INVALID_ARGUMENT'],
    ['env null', { env: null }, 'AUDIT_INVALID_ARGUMENT'],
    ['env with a non-string value', { env: { AUDIT_QUEUE_DEPTH: 64 } }, 'AUDIT_CONFIG_INVALID'],
  ].map(([name, input, expected]) => [name, expected, input] as const))('%s → %s', (_name, expected, options) => {
    expect(code(() => createAudit(options as never))).toBe(expected);
  });

  it('undefined options mean all defaults', async () => {
    const engine = createAudit({ env: {}, enabled: false });
    expect(engine.config.queueDepth).toBe(4096);
    await engine.close();
  });
});

describe('emit(event) with wrong input', () => {
  let engine: AuditEngine;
  const ok = { action: 'a', outcome: 'success' as const };

  it.each([
    ['null', null, 'AUDIT_INVALID_EVENT'],
    ['undefined', undefined, 'AUDIT_INVALID_EVENT'],
    ['a number', 42, 'AUDIT_INVALID_EVENT'],
    ['a string', 'user.login', 'AUDIT_INVALID_EVENT'],
    ['an array', [ok], 'AUDIT_INVALID_EVENT'],
    ['no action', { outcome: 'success' }, 'AUDIT_INVALID_EVENT'],
    ['an empty action', { action: '', outcome: 'success' }, 'AUDIT_INVALID_EVENT'],
    ['a numeric action', { action: 7, outcome: 'success' }, 'AUDIT_INVALID_EVENT'],
    ['a bad outcome', { action: 'a', outcome: 'ok' }, 'AUDIT_INVALID_EVENT'],
    ['no outcome', { action: 'a' }, 'AUDIT_INVALID_EVENT'],
    ['a NaN attribute', { ...ok, attributes: { n: Number.NaN } }, 'AUDIT_INVALID_EVENT'],
    ['an Infinity attribute', { ...ok, attributes: { n: Number.NEGATIVE_INFINITY } }, 'AUDIT_INVALID_EVENT'],
    ['a bigint attribute', { ...ok, attributes: { n: 1n } }, 'AUDIT_INVALID_EVENT'],
    ['a null attribute', { ...ok, attributes: { n: null } }, 'AUDIT_INVALID_EVENT'],
    ['attributes as an array', { ...ok, attributes: ['x'] }, 'AUDIT_INVALID_EVENT'],
    ['a lone surrogate in an attribute', { ...ok, attributes: { s: 'a\ud800b' } }, 'AUDIT_NOT_CANONICAL'],
    ['a lone surrogate in an attribute key', { ...ok, attributes: { ['\udfff']: 'x' } }, 'AUDIT_NOT_CANONICAL'],
    ['a lone surrogate in the action', { action: '\ud83d', outcome: 'success' }, 'AUDIT_NOT_CANONICAL'],
    ['a lone surrogate in request_id', { ...ok, request_id: 'r\udc00' }, 'AUDIT_NOT_CANONICAL'],
    ['a 100 KB attribute', { ...ok, attributes: { big: 'x'.repeat(100 * 1024) } }, 'AUDIT_RECORD_TOO_LARGE'],
    ['an actor string', { ...ok, actor: 'alice' }, 'AUDIT_INVALID_EVENT'],
    ['an actor number', { ...ok, actor: 7 }, 'AUDIT_INVALID_EVENT'],
    ['an actor without id', { ...ok, actor: { type: 'user' } }, 'AUDIT_INVALID_EVENT'],
    ['an actor with an object id', { ...ok, actor: { id: {} } }, 'AUDIT_INVALID_EVENT'],
    ['actor groups as a string', { ...ok, actor: { id: 'a', groups: 'admins' } }, 'AUDIT_INVALID_EVENT'],
    ['a bad trace_id', { ...ok, trace_id: 'not-hex' }, 'AUDIT_INVALID_EVENT'],
    ['an all-zero trace_id', { ...ok, trace_id: '0'.repeat(32) }, 'AUDIT_INVALID_EVENT'],
    ['a numeric trace_id', { ...ok, trace_id: 1234 }, 'AUDIT_INVALID_EVENT'],
    ['a target string', { ...ok, target: 'user:7' }, 'AUDIT_INVALID_EVENT'],
    ['a target null', { ...ok, target: null }, 'AUDIT_INVALID_EVENT'],
    ['a time far in the future', { ...ok, time: 1e20 }, 'AUDIT_INVALID_EVENT'],
    ['a body with a bad digest', { ...ok, body: { request: { size: 1, digest: 'x', truncated: false, encoding: 'utf8', content: 'a' } } }, 'AUDIT_INVALID_EVENT'],
    ['a body content with a cycle', { ...ok, body: { request: (() => { const c: Record<string, unknown> = {}; c['c'] = c; return { size: 1, digest: 'a'.repeat(64), truncated: false, encoding: 'json', content: c }; })() } }, 'AUDIT_NOT_CANONICAL'],
  ].map(([name, input, expected]) => [name, expected, input] as const))('%s → %s (counted, nothing appended)', async (_name, expected, event) => {
    engine = await readyAudit({ queueDepth: 4 });
    expect(code(() => engine.emit(event as never))).toBe(expected);
    const reason = expected === 'AUDIT_RECORD_TOO_LARGE' ? 'too_large' : 'invalid';
    expect(await metricValue(engine.metrics.registry, 'audit_drop_total', { reason })).toBe(1);
    await engine.flush();
    expect(engine.health().log.size).toBe(0);
    expect(engine.health().queue.occupancy).toBe(0);
  });

  it('a garbage traceparent is ignored and the event still recorded', async () => {
    engine = await readyAudit({ queueDepth: 8 });
    for (const traceparent of ['garbage', '00-xyz-abc-01', '', 7, null]) engine.emit({ ...ok, traceparent: traceparent as string });
    await engine.flush();
    const records = await engine.read();
    expect(records).toHaveLength(5);
    for (const r of records) expect(r.record['trace_id']).toBeUndefined();
  });
});

describe('reserve(options) with wrong input', () => {
  it.each([
    ['null', null],
    ['a string', '/orders'],
    ['a number', 1],
    ['endpoint as a number', { endpoint: 5 }],
    ['endpoint empty', { endpoint: '' }],
    ['longLived as a string', { longLived: 'yes' }],
  ])('%s → AUDIT_INVALID_ARGUMENT, no slot taken', async (_name, options) => {
    const engine = await readyAudit({ queueDepth: 2 });
    expect(code(() => engine.reserve(options as never))).toBe('AUDIT_INVALID_ARGUMENT');
    expect(engine.health().queue.occupancy).toBe(0);
  });

  it('commit() never throws, whatever it is given', async () => {
    const engine = await readyAudit({ queueDepth: 8 });
    const inputs: unknown[] = [null, undefined, 5, 'x', [], { action: 5 }, { attributes: { n: Number.NaN } }, { action: 'a', outcome: 'success', time: 1e20 }];
    for (const input of inputs) expect(() => engine.reserve().commit(input as never)).not.toThrow();
    await engine.flush();
    expect(await engine.read()).toHaveLength(inputs.length);
  });
});

describe('read(range) with wrong input', () => {
  it.each([
    ['null', null],
    ['a number', 3],
    ['a string', '0-3'],
    ['from negative', { from: -1 }],
    ['from a float', { from: 0.5 }],
    ['from a string', { from: '0' }],
    ['from NaN', { from: Number.NaN }],
    ['to before from', { from: 2, to: 1 }],
    ['to a float', { to: 1.5 }],
    ['to unsafe', { to: 2 ** 53 }],
    ['to negative', { to: -1 }],
  ])('%s → AUDIT_INVALID_ARGUMENT', async (_name, range) => {
    const engine = await readyAudit({ queueDepth: 2 });
    expect(await asyncCode(() => engine.read(range as never))).toBe('AUDIT_INVALID_ARGUMENT');
  });

  it('a range beyond the signed log returns nothing rather than failing', async () => {
    const engine = await readyAudit({ queueDepth: 2 });
    engine.emit({ action: 'a', outcome: 'success' });
    await engine.flush();
    expect(await engine.read({ from: 1 })).toEqual([]);
    expect(await engine.read({ from: 0, to: 100 })).toHaveLength(1);
  });
});

describe('prove(seq) with wrong input', () => {
  it.each([
    ['negative', -1, 'AUDIT_INVALID_ARGUMENT'],
    ['a float', 0.5, 'AUDIT_INVALID_ARGUMENT'],
    ['a string', '0', 'AUDIT_INVALID_ARGUMENT'],
    ['NaN', Number.NaN, 'AUDIT_INVALID_ARGUMENT'],
    ['null', null, 'AUDIT_INVALID_ARGUMENT'],
    ['beyond the signed size', 1, 'AUDIT_RANGE_UNAVAILABLE'],
    ['unsafe', 2 ** 53, 'AUDIT_INVALID_ARGUMENT'],
  ].map(([name, input, expected]) => [name, expected, input] as const))('%s → %s', async (_name, expected, seq) => {
    const engine = await readyAudit({ queueDepth: 2 });
    engine.emit({ action: 'a', outcome: 'success' });
    await engine.flush();
    expect(code(() => engine.prove(seq as never))).toBe(expected);
  });

  it('before the first checkpoint → AUDIT_RANGE_UNAVAILABLE', () => {
    const engine = createAudit({ env: {}, enabled: false });
    expect(code(() => engine.prove(0))).toBe('AUDIT_RANGE_UNAVAILABLE');
    void engine.close();
  });
});

describe('close(options) with wrong input', () => {
  it.each([
    ['null', null],
    ['a number', 100],
    ['timeoutMs negative', { timeoutMs: -1 }],
    ['timeoutMs a string', { timeoutMs: '100' }],
    ['timeoutMs NaN', { timeoutMs: Number.NaN }],
  ])('%s → AUDIT_INVALID_ARGUMENT, still open', async (_name, options) => {
    const engine = await readyAudit({ queueDepth: 2 });
    expect(await asyncCode(() => engine.close(options as never))).toBe('AUDIT_INVALID_ARGUMENT');
    expect(engine.health().status).toBe('ready');
  });
});

describe('emit() and slot.commit() of an event that throws when read (issue 13 item 6)', () => {
  const getter = (): unknown => Object.defineProperty({ outcome: 'success' }, 'action', { enumerable: true, get: () => { throw new Error('boom'); } });
  const proxy = (): unknown => new Proxy({ action: 'a', outcome: 'success' }, { get: () => { throw new TypeError('trap'); } });
  it.each([
    ['a throwing getter', getter],
    ['a Proxy whose get trap throws', proxy],
  ])('emit(%s) throws AUDIT_INVALID_EVENT and counts the drop; commit() of it still leaves a reduced record', async (_name, make) => {
    const engine = await readyAudit({ queueDepth: 8 });
    expect(code(() => engine.emit(make() as never))).toBe('AUDIT_INVALID_EVENT');
    expect(await asyncCode(() => engine.emitDurable(make() as never))).toBe('AUDIT_INVALID_EVENT');
    expect(await metricValue(engine.metrics.registry, 'audit_drop_total', { reason: 'invalid' })).toBe(2);
    const slot = engine.reserve();
    expect(() => slot.commit(make() as never)).not.toThrow();
    await engine.flush();
    const rs = await engine.read();
    expect(rs).toHaveLength(1);
    expect(rs[0]!.record['id']).toBe(slot.id);
    expect((rs[0]!.record['annotations'] as Record<string, string>)['ron-audit.invalid']).toMatch(/could not be read/);
  });
});
