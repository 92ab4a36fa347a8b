import canonicalizeReference from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/support/engine.js';
import { AuditError } from '../errors.js';
import { isRfc3339Millis } from '../prim/time.js';
import { parseCanonical } from './canonical.js';
import { createRedactor } from './redact.js';
import { MAX_RECORD_BYTES, parseTraceparent, prepareEvent, prepareReduced, recordBytes, uuidv7, type AuditEvent } from './record.js';

const redactor = createRedactor(undefined);
const PREV = 'ab'.repeat(32);
const NOW = Date.parse('2026-11-27T06:01:08.123Z');

function build(event: AuditEvent, seq = 7): Record<string, unknown> {
  const bytes = recordBytes(prepareEvent(event, redactor, () => '019ac3f0-8f35-7b4c-9a8e-2f6c1d0e5a11', NOW), seq, PREV);
  return parseCanonical(bytes) as Record<string, unknown>;
}

function invalidField(event: unknown): string {
  const err = thrown(() => prepareEvent(event as AuditEvent, redactor, uuidv7, NOW));
  expect(err).toBeInstanceOf(AuditError);
  expect(['AUDIT_INVALID_EVENT', 'AUDIT_NOT_CANONICAL']).toContain((err as AuditError).code);
  return (err as AuditError).message;
}

describe('record bytes', () => {
  it('are the RFC 8785 form of the record, byte for byte as an independent JCS implementation writes them', () => {
    const events: AuditEvent[] = [
      { action: 'http.request', outcome: 'success' },
      {
        action: 'user.delete',
        outcome: 'failure',
        actor: { id: 'u-42', type: 'user', name: 'Zoë 👩‍💻', groups: ['admins', 'ops'] },
        target: { type: 'user', id: 'u-7' },
        annotations: { reason: 'gdpr\nrequest', 'é': 'ß' },
        attributes: { 'http.response.status_code': 201, ratio: 0.1, big: 1e21, tiny: 1e-7, neg0: -0, ok: true, list: ['b', 'a'], '\u0001ctl': '\u001f\u007f\u2028' },
        request_id: 'req-1',
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        span_id: '00f067aa0ba902b7',
        time: '2026-01-02T03:04:05.678+02:00',
      },
    ];
    for (const e of events) {
      for (const seq of [0, 7, 2 ** 53 - 1]) {
        const bytes = recordBytes(prepareEvent(e, redactor, uuidv7, NOW), seq, PREV);
        const text = new TextDecoder().decode(bytes);
        expect(text).toBe(canonicalizeReference(JSON.parse(text)));
        expect((JSON.parse(text) as { seq: number }).seq).toBe(seq);
      }
    }
  });

  it('fills the defaults of format §2.2 and omits absent optional members (never null)', () => {
    const r = build({ action: 'a', outcome: 'aborted' });
    expect(r).toEqual({
      v: 1,
      seq: 7,
      prev: PREV,
      id: '019ac3f0-8f35-7b4c-9a8e-2f6c1d0e5a11',
      time: '2026-11-27T06:01:08.123Z',
      action: 'a',
      outcome: 'aborted',
      actor: { id: 'anonymous', type: 'anonymous' },
      annotations: {},
      attributes: {},
    });
  });

  it('writes event times in UTC with milliseconds, from a Date, epoch milliseconds or an RFC 3339 string', () => {
    expect(build({ action: 'a', outcome: 'success', time: new Date(NOW) })['time']).toBe('2026-11-27T06:01:08.123Z');
    expect(build({ action: 'a', outcome: 'success', time: NOW })['time']).toBe('2026-11-27T06:01:08.123Z');
    expect(build({ action: 'a', outcome: 'success', time: '2026-11-27T07:01:08+01:00' })['time']).toBe('2026-11-27T06:01:08.000Z');
    expect(build({ action: 'a', outcome: 'success', time: '2026-11-27T06:01:08.123456Z' })['time']).toBe('2026-11-27T06:01:08.123Z');
  });

  it.each([
    ['a number past year 9999', 253402300800000],
    ['a huge number', 1e20],
    ['a negative year', -62167219200001],
    ['a Date past year 9999', new Date(253402300800000)],
    ['a string that lands past year 9999', '9999-12-31T23:59:59.999-01:00'],
    ['not RFC 3339', '27 Nov 2026'],
    ['NaN', Number.NaN],
    ['an invalid Date', new Date('nope')],
    ['a boolean', true],
  ])('refuses %s as time with AUDIT_INVALID_EVENT: the record could not carry it in the §2.2 form', (_name, time) => {
    expect(invalidField({ action: 'a', outcome: 'success', time })).toMatch(/event\.time/);
  });

  it('accepts times at the ends of the representable range', () => {
    for (const time of [0, -62167219200000, 253402300799999]) {
      expect(isRfc3339Millis(build({ action: 'a', outcome: 'success', time })['time'] as string)).toBe(true);
    }
  });

  it('takes trace_id and span_id from a valid traceparent, ignores a malformed one, and prefers explicit ids', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(build({ action: 'a', outcome: 'success', traceparent: tp })).toMatchObject({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' });
    for (const garbage of ['', 'garbage', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', 5]) {
      const r = build({ action: 'a', outcome: 'success', traceparent: garbage as string });
      expect(r['trace_id']).toBeUndefined();
      expect(r['span_id']).toBeUndefined();
    }
    expect(build({ action: 'a', outcome: 'success', traceparent: tp, trace_id: 'a'.repeat(32) })['trace_id']).toBe('a'.repeat(32));
    expect(parseTraceparent(` ${tp.toUpperCase()} `)).toEqual({ trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' });
  });

  it('names the field of an invalid event', () => {
    expect(invalidField({ outcome: 'success' })).toMatch(/event\.action/);
    expect(invalidField({ action: 'a'.repeat(257), outcome: 'success' })).toMatch(/event\.action/);
    expect(invalidField({ action: 'a', outcome: 'ok' })).toMatch(/event\.outcome/);
    expect(invalidField({ action: 'a', outcome: 'success', actor: { id: '' } })).toMatch(/event\.actor\.id/);
    expect(invalidField({ action: 'a', outcome: 'success', actor: { id: 'x', groups: Array(65).fill('g') } })).toMatch(/event\.actor\.groups/);
    expect(invalidField({ action: 'a', outcome: 'success', target: { type: 'x' } })).toMatch(/event\.target\.id/);
    expect(invalidField({ action: 'a', outcome: 'success', annotations: { k: 5 } })).toMatch(/event\.annotations\["k"\]/);
    expect(invalidField({ action: 'a', outcome: 'success', annotations: { ['k'.repeat(129)]: 'v' } })).toMatch(/event\.annotations key/);
    expect(invalidField({ action: 'a', outcome: 'success', attributes: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, i])) })).toMatch(/event\.attributes/);
    expect(invalidField({ action: 'a', outcome: 'success', attributes: { x: { nested: 1 } } })).toMatch(/event\.attributes\["x"\]/);
    expect(invalidField({ action: 'a', outcome: 'success', trace_id: 'A'.repeat(32) })).toMatch(/event\.trace_id/);
    expect(invalidField({ action: 'a', outcome: 'success', span_id: '0'.repeat(16) })).toMatch(/event\.span_id/);
    expect(invalidField({ action: 'a', outcome: 'success', id: '' })).toMatch(/event\.id/);
    expect(invalidField({ action: 'a', outcome: 'success', request_id: '' })).toMatch(/event\.request_id/);
    expect(invalidField({ action: 'a', outcome: 'success', body: { request: { size: 1 } } })).toMatch(/event\.body\.request/);
  });

  it('accepts a numeric actor id as its decimal string, and defaults the actor type to user', () => {
    expect(build({ action: 'a', outcome: 'success', actor: { id: 42 as unknown as string } })['actor']).toEqual({ id: '42', type: 'user' });
  });

  it('refuses an event over MAX_RECORD_BYTES, and accepts one whose record fits', () => {
    const err = thrown(() => prepareEvent({ action: 'a', outcome: 'success', attributes: { x: 'y'.repeat(MAX_RECORD_BYTES) } }, redactor, uuidv7, NOW)) as AuditError;
    expect(err.code).toBe('AUDIT_RECORD_TOO_LARGE');
    expect(err.details['bytes']).toBeGreaterThan(MAX_RECORD_BYTES);
    const base = { action: 'a', outcome: 'success' as const };
    const small = prepareEvent({ ...base, attributes: { x: '' } }, redactor, uuidv7, NOW);
    // Largest padding the size check admits; the record it makes must fit at any seq.
    let pad = MAX_RECORD_BYTES - small.partsBytes - 96;
    const fits = prepareEvent({ ...base, attributes: { x: 'y'.repeat(pad) } }, redactor, uuidv7, NOW);
    expect(recordBytes(fits, 2 ** 53 - 1, PREV).length).toBeLessThanOrEqual(MAX_RECORD_BYTES);
    pad++;
    expect(() => prepareEvent({ ...base, attributes: { x: 'y'.repeat(pad) } }, redactor, uuidv7, NOW)).toThrow(expect.objectContaining({ code: 'AUDIT_RECORD_TOO_LARGE' }) as Error);
  });

  it('counts multi-byte characters as their UTF-8 size', () => {
    const emoji = '😀'.repeat(20_000); // 80,000 UTF-8 bytes in 40,000 UTF-16 units
    expect(() => prepareEvent({ action: 'a', outcome: 'success', attributes: { x: emoji } }, redactor, uuidv7, NOW)).toThrow(expect.objectContaining({ code: 'AUDIT_RECORD_TOO_LARGE' }) as Error);
  });
});

describe('reduced records', () => {
  it('keep every field except body and annotations, and of the attributes only the HTTP ones they are certain to hold', () => {
    const p = prepareReduced(
      { id: 'r-1', action: 'a', outcome: 'success', actor: { id: 'u' }, target: { type: 't', id: '1' }, request_id: 'q', time: NOW, attributes: { secret: 's' }, annotations: { k: 'v' } },
      'ron-audit.invalid',
      'why',
      redactor,
      uuidv7,
      NOW,
    );
    const r = parseCanonical(recordBytes(p, 0, PREV)) as Record<string, unknown>;
    expect(r).toMatchObject({ id: 'r-1', action: 'a', outcome: 'success', actor: { id: 'u', type: 'user' }, target: { type: 't', id: '1' }, request_id: 'q', attributes: {}, annotations: { 'ron-audit.invalid': 'why' } });
  });

  it('keep method, route, path, status and client address, so a client cannot strip them by making another part unrecordable (issue 13 item 5)', () => {
    const attributes = {
      'http.request.method': 'POST',
      'http.route': '/orders',
      'url.path': '/orders',
      'http.response.status_code': 201,
      'client.address': '127.0.0.1',
      'http.request.header.x': ['\ud800'],
      'user_agent.original': 'ua',
    };
    const p = prepareReduced({ id: 'r-3', action: 'POST /orders', outcome: 'success', actor: { id: 'u' }, attributes } as never, 'ron-audit.invalid', 'why', redactor, uuidv7, NOW);
    const r = parseCanonical(recordBytes(p, 0, PREV)) as Record<string, unknown>;
    expect(r['attributes']).toEqual({ 'http.request.method': 'POST', 'http.route': '/orders', 'url.path': '/orders', 'http.response.status_code': 201, 'client.address': '127.0.0.1' });
    // Each kept one only when recordable: a lone surrogate in the path, a non-integer status are left out.
    const q = prepareReduced({ id: 'r-4', action: 'GET /x', outcome: 'success', attributes: { 'url.path': '/\ud800', 'http.response.status_code': Number.NaN, 'http.request.method': 'GET' } } as never, 'ron-audit.invalid', 'why', redactor, uuidv7, NOW);
    expect((parseCanonical(recordBytes(q, 0, PREV)) as Record<string, unknown>)['attributes']).toEqual({ 'http.request.method': 'GET' });
  });

  it('fall back to recordable replacements when the kept fields are the problem', () => {
    const p = prepareReduced({ id: 'r-2', action: '\udc00', outcome: 'nope', actor: { id: '\ud800' }, time: 'never' } as never, 'ron-audit.invalid', 'x'.repeat(5000) + '\ud83d', redactor, uuidv7, NOW);
    const r = parseCanonical(recordBytes(p, 0, PREV)) as Record<string, unknown>;
    expect(r).toMatchObject({ id: 'r-2', action: 'ron-audit.unrecordable', outcome: 'failure', actor: { id: 'anonymous', type: 'anonymous' } });
    expect((r['annotations'] as Record<string, string>)['ron-audit.invalid']).toHaveLength(4096);
  });
});

describe('prepareEvent of an event that throws when read (issue 13 item 6)', () => {
  const throwingGetter = Object.defineProperty({ outcome: 'success' }, 'action', { enumerable: true, get: () => { throw new Error('boom'); } });
  const throwingProxy = new Proxy({}, { get: () => { throw new TypeError('trap'); }, ownKeys: () => { throw new TypeError('trap'); } });
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const attributesGetter = { action: 'a', outcome: 'success', get attributes(): never { throw new RangeError('deep'); } };
  const attributesProxy = { action: 'a', outcome: 'success', attributes: new Proxy({}, { ownKeys: () => { throw new Error('keys'); } }) };
  const thrownNonError = { action: 'a', outcome: 'success', get actor(): never { throw 42; } };
  it.each([
    ['a throwing getter', throwingGetter],
    ['a Proxy whose traps throw', throwingProxy],
    ['a revoked Proxy', revoked.proxy],
    ['attributes behind a throwing getter', attributesGetter],
    ['attributes as a Proxy whose ownKeys throws', attributesProxy],
    ['a getter throwing a non-Error', thrownNonError],
  ])('%s is AUDIT_INVALID_EVENT, not the raw error', (_name, event) => {
    const err = thrown(() => prepareEvent(event as never, redactor, uuidv7, NOW));
    expect(err).toBeInstanceOf(AuditError);
    expect((err as AuditError).code).toBe('AUDIT_INVALID_EVENT');
    expect((err as AuditError).message).toMatch(/event could not be read/);
  });
});

describe('uuidv7', () => {
  it('writes RFC 9562 version 7 ids with the millisecond time in the first 48 bits', () => {
    const now = Date.parse('2026-11-27T06:01:08.123Z');
    const ids = new Set(Array.from({ length: 2000 }, () => uuidv7(now)));
    expect(ids.size).toBe(2000);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(now);
    }
  });

  it('follows the time given on every call, interleaved, from the epoch to the largest 48-bit millisecond', () => {
    const times = [0, 1, 2 ** 48 - 1, Date.parse('2026-12-04T22:00:00.000Z'), 1, 0xabcdef, 0xabcdef + 1];
    for (let round = 0; round < 300; round++) {
      for (const now of times) {
        const id = uuidv7(now);
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(now);
      }
    }
  });
});
