import { describe, expect, it } from 'vitest';
import { prepareEvent, type AuditEvent } from './record.js';
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
    yield { id: `id-${i}`, time: 1_700_000_000_000 + i, action: 'x', outcome: 'success', attributes, annotations };
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
      }
    }
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
