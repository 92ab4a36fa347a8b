import { describe, expect, it } from 'vitest';
import { prepareEvent, recordBytes, type AuditEvent } from './record.js';
import { createRedactor } from './redact.js';

/** Seeded generator of events with awkward attribute and annotation members. */
function* events(n: number): Generator<AuditEvent> {
  let seed = 99;
  const rnd = (k: number) => ((seed = (seed * 48271) % 2147483647), seed % k);
  const strings = ['', 'plain', 'quote"back\\slash', 'tab\there', 'é ü 中文', '😀 pair', 'Bearer secret-token', 'a=1&token=abc&b=2', '\u0001ctl'];
  const keys = ['http.request.method', 'url.query', 'http.request.header.authorization', 'http.request.header.Cookie', 'HTTP.REQUEST.HEADER.X-API-KEY', 'http.response.header.set-cookie', 'z', 'A', 'é', '😀', 'http.route'];
  for (let i = 0; i < n; i++) {
    const attributes: Record<string, string | number | boolean | string[]> = {};
    for (let j = rnd(8); j > 0; j--) {
      const k = keys[rnd(keys.length)]!;
      const kind = rnd(4);
      attributes[k] = kind === 0 ? strings[rnd(strings.length)]! : kind === 1 ? rnd(1000) / 7 : kind === 2 ? rnd(2) === 0 : [strings[rnd(strings.length)]!, strings[rnd(strings.length)]!];
    }
    const annotations: Record<string, string> = {};
    for (let j = rnd(4); j > 0; j--) annotations[strings[1 + rnd(strings.length - 1)]!] = strings[rnd(strings.length)]!;
    const actorKind = rnd(5);
    const actor =
      actorKind === 0
        ? undefined
        : actorKind === 1
          ? { id: rnd(100000) }
          : actorKind === 2
            ? { id: strings[1 + rnd(strings.length - 1)]!, type: 'service' }
            : { id: `u-${i}`, name: strings[rnd(strings.length)]!, groups: [strings[rnd(strings.length)]!, strings[rnd(strings.length)]!].slice(0, rnd(3)) };
    const target = rnd(3) === 0 ? undefined : { type: strings[1 + rnd(strings.length - 1)]!, id: strings[1 + rnd(strings.length - 1)]! };
    yield { id: `id-${i}`, time: 1_700_000_000_000 + i, action: 'x', outcome: 'success', attributes, annotations, ...(actor ? { actor } : {}), ...(target ? { target } : {}) } as AuditEvent;
  }
}

describe('the one-pass attributes/annotations serializer', () => {
  it('writes exactly the bytes of validate → redact → canonicalize, for defaults and for remove', () => {
    for (const opts of [undefined, { remove: true }, { censor: '***', keys: ['b'] }]) {
      const fast = createRedactor(opts);
      // A path that never matches forces the object path without changing what is redacted.
      const slow = createRedactor({ ...(opts ?? {}), paths: ['never.matches'] });
      expect(fast.paths).toHaveLength(0);
      for (const e of events(400)) {
        const a = prepareEvent(e, fast, () => 'unused');
        const b = prepareEvent(e, slow, () => 'unused');
        expect(a.head).toBe(b.head);
        expect(a.tail).toBe(b.tail);
        expect(a.partsBytes).toBe(b.partsBytes);
        expect(Buffer.from(recordBytes(a, 7, 'ab'.repeat(32)))).toEqual(Buffer.from(recordBytes(b, 7, 'ab'.repeat(32))));
      }
    }
  });
});

describe('the sorted-keys cache of the one-pass serializer', () => {
  const r = createRedactor(undefined);
  const head = (attributes: Record<string, unknown>) => prepareEvent({ id: 'i', time: 0, action: 'a', outcome: 'success', attributes } as AuditEvent, r, () => 'x').head;

  it('writes members in JCS order whatever the insertion order, across more shapes than it keeps', () => {
    const keys = ['b', 'a', 'é', 'A', 'z.y', '😀', '_'];
    const expected = (o: Record<string, unknown>) => `"attributes":{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(o[k])}`).join(',')}}`;
    // 40 shapes (more than the ring holds), each seen three times, in rotating insertion orders.
    for (let round = 0; round < 3; round++) {
      for (let shape = 0; shape < 40; shape++) {
        const o: Record<string, unknown> = {};
        for (let j = 0; j < 2 + (shape % 5); j++) o[keys[(shape + j * (round + 1)) % keys.length]!] = `${shape}-${j}`;
        expect(head(o)).toContain(expected(o));
      }
    }
  });

  it('a cached order never leaks into another object with the same key count', () => {
    expect(head({ b: 1, a: 2 })).toContain('"attributes":{"a":2,"b":1}');
    expect(head({ d: 1, c: 2 })).toContain('"attributes":{"c":2,"d":1}');
    expect(head({ b: 1, a: 2 })).toContain('"attributes":{"a":2,"b":1}');
    expect(head({ a: 1, b: 2 })).toContain('"attributes":{"a":1,"b":2}');
  });
});

describe('the one-pass actor and target writers refuse what the object path refuses', () => {
  const r = createRedactor(undefined);
  const ev = (extra: Record<string, unknown>) => ({ id: 'i', time: 0, action: 'a', outcome: 'success', ...extra }) as AuditEvent;
  it.each([
    [{ actor: { id: '\ud800' } }, 'AUDIT_NOT_CANONICAL', '$.actor.id'],
    [{ actor: { id: 'u', name: 'x\udc00' } }, 'AUDIT_NOT_CANONICAL', '$.actor.name'],
    [{ actor: { id: 'u', groups: ['ok', '\ud83d'] } }, 'AUDIT_NOT_CANONICAL', '$.actor.groups[1]'],
    [{ actor: { id: 'u', type: '\udfff' } }, 'AUDIT_NOT_CANONICAL', '$.actor.type'],
    [{ target: { type: 'route', id: '\ud800x' } }, 'AUDIT_NOT_CANONICAL', '$.target.id'],
    [{ actor: { id: '' } }, 'AUDIT_INVALID_EVENT', 'actor.id'],
    [{ actor: { id: 'u', groups: 'admins' } }, 'AUDIT_INVALID_EVENT', 'actor.groups'],
    [{ actor: { id: 'u', groups: [1] } }, 'AUDIT_INVALID_EVENT', 'actor.groups[0]'],
    [{ actor: 'root' }, 'AUDIT_INVALID_EVENT', 'actor'],
    [{ target: { type: 'route' } }, 'AUDIT_INVALID_EVENT', 'target.id'],
  ])('%j → %s naming %s', (extra, code, where) => {
    let caught: unknown;
    try {
      prepareEvent(ev(extra), r, () => 'x');
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code });
    expect((caught as Error).message).toContain(where);
  });
});

describe('reserved actions', () => {
  it('refuses an application event that claims to be a key record, and never writes one from a reduced event', async () => {
    const { reducedEvent, prepareInternalEvent, RESERVED_ACTION_PREFIX } = await import('./record.js');
    const r = createRedactor(undefined);
    expect(() => prepareEvent({ action: `${RESERVED_ACTION_PREFIX}announce`, outcome: 'success' }, r, () => 'x')).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_EVENT' }));
    expect(reducedEvent({ id: 'x', action: 'ron-audit.key.retire' }, 'ron-audit.invalid', 'no').action).toBe('ron-audit.unrecordable');
    expect(prepareInternalEvent({ action: 'ron-audit.key.announce', outcome: 'success' }, r, () => 'x').head).toContain('ron-audit.key.announce');
  });
});

describe('the time of a prepared event, with the per-millisecond cache', () => {
  const r = createRedactor(undefined);
  const timeOf = (time: unknown) => /"time":"([^"]*)"/.exec(prepareEvent({ action: 'a', outcome: 'success', time } as AuditEvent, r, () => 'x').tail)![1];
  it('alternating and repeated explicit times each give their own instant, the epoch neighbours included', () => {
    const cases: [unknown, string][] = [
      [-1, '1969-12-31T23:59:59.999Z'],
      [0, '1970-01-01T00:00:00.000Z'],
      [-1, '1969-12-31T23:59:59.999Z'],
      [new Date(1_764_720_000_123), '2025-12-03T00:00:00.123Z'],
      [1_764_720_000_123, '2025-12-03T00:00:00.123Z'],
      ['2025-12-03T01:00:00.123+01:00', '2025-12-03T00:00:00.123Z'],
      [1_764_720_000_124, '2025-12-03T00:00:00.124Z'],
      [1_764_720_000_123.9, '2025-12-03T00:00:00.123Z'],
    ];
    for (let round = 0; round < 2; round++) for (const [time, expected] of cases) expect(timeOf(time)).toBe(expected);
  });
});
