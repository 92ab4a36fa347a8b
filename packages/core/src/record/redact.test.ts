import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, decode, heldRecords, internals, loggedText, readyAudit, recordingLogger } from '../../test/support/engine.js';
import type { AuditEngine } from '../api.js';
import { captureBody } from './body.js';
import { DEFAULT_CENSOR, DEFAULT_REDACT_HEADERS, DEFAULT_REDACT_KEYS, createRedactor, parsePath, redactAttribute, redactQuery } from './redact.js';
import type { AuditEvent } from './record.js';

afterEach(cleanup);

/** Emit, flush, and return the record's bytes as text plus the parsed record. */
async function recorded(engine: AuditEngine, event: AuditEvent): Promise<{ text: string; record: Record<string, unknown> }> {
  engine.emit(event);
  await engine.flush();
  const r = (await engine.read()).at(-1)!;
  return { text: decode(r.bytes), record: r.record as Record<string, unknown> };
}

const SECRET = 'hunter2-S3CRET';

describe('default redaction', () => {
  it.each(DEFAULT_REDACT_HEADERS)('the %s header never reaches the record bytes (request and response, any case)', async (name) => {
    const engine = await readyAudit({ queueDepth: 4 });
    const upper = name.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
    const { text, record } = await recorded(engine, {
      action: 'GET /me',
      outcome: 'success',
      attributes: {
        [`http.request.header.${name}`]: [`Bearer ${SECRET}`, `second-${SECRET}`],
        [`http.response.header.${name}`]: [SECRET],
        [`http.request.header.${upper}`]: [`upper-${SECRET}`],
        'http.request.header.accept': ['application/json'],
      },
    });
    expect(text).not.toContain(SECRET);
    const attrs = record['attributes'] as Record<string, unknown>;
    expect(attrs[`http.request.header.${name}`]).toEqual([DEFAULT_CENSOR]);
    expect(attrs[`http.response.header.${name}`]).toEqual([DEFAULT_CENSOR]);
    expect(attrs['http.request.header.accept']).toEqual(['application/json']);
  });

  it.each(DEFAULT_REDACT_KEYS)('a query parameter named %s is censored, other parameters kept', async (key) => {
    const engine = await readyAudit({ queueDepth: 4 });
    const { text, record } = await recorded(engine, {
      action: 'GET /cb',
      outcome: 'success',
      attributes: { 'url.query': `page=2&${key}=${SECRET}&${key.toUpperCase()}=${SECRET}&q=shoes` },
    });
    expect(text).not.toContain(SECRET);
    const censored = encodeURIComponent(DEFAULT_CENSOR);
    expect((record['attributes'] as Record<string, string>)['url.query']).toBe(`page=2&${key}=${censored}&${key.toUpperCase()}=${censored}&q=shoes`);
  });

  it('query parameter names are matched after percent- and plus-decoding', () => {
    const r = createRedactor(undefined);
    expect(redactQuery(`pass%77ord=${SECRET}&a=1`, r)).not.toContain(SECRET);
    expect(redactQuery(`api%5Fkey=${SECRET}`, r)).not.toContain(SECRET);
    expect(redactQuery(`token`, r)).toBe(`token=${encodeURIComponent(DEFAULT_CENSOR)}`);
    expect(redactQuery('%E0%A4%A=1&x=2', r)).toBe('%E0%A4%A=1&x=2');
  });

  it.each(DEFAULT_REDACT_KEYS)('a JSON body member named %s is censored at any depth, in request and response', async (key) => {
    const engine = await readyAudit({ queueDepth: 4 });
    const req = captureBody(JSON.stringify({ user: 'ann', [key]: SECRET, nested: { list: [{ [key]: SECRET, keep: 1 }] } }), { maxBytes: 4096, contentType: 'application/json' });
    const res = captureBody({ [key.toUpperCase()]: SECRET }, { maxBytes: 4096 });
    const { text, record } = await recorded(engine, { action: 'POST /login', outcome: 'success', body: { request: req!, response: res! } });
    expect(text).not.toContain(SECRET);
    const body = record['body'] as { request: { content: unknown; digest: string }; response: { content: unknown } };
    expect(body.request.content).toEqual({ user: 'ann', [key]: DEFAULT_CENSOR, nested: { list: [{ [key]: DEFAULT_CENSOR, keep: 1 }] } });
    expect(body.response.content).toEqual({ [key.toUpperCase()]: DEFAULT_CENSOR });
    // The digest still covers the body as it was sent: it proves what was received without revealing it.
    expect(body.request.digest).toBe(req!.digest);
  });

  it('a truncated JSON body keeps no content at all, so no member can slip past redaction', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    const req = captureBody(JSON.stringify({ pad: 'x'.repeat(100), password: SECRET }), { maxBytes: 64, contentType: 'application/json' });
    const { text } = await recorded(engine, { action: 'POST /login', outcome: 'success', body: { request: req! } });
    expect(text).not.toContain(SECRET);
  });
});

describe('configured redaction (pino-style)', () => {
  it('string[] paths censor those members with the default censor', async () => {
    const engine = await readyAudit({ queueDepth: 4, redact: ['attributes["user.email"]', 'actor.name', 'body.request.content.card.number', 'attributes.*.never'] });
    const { text, record } = await recorded(engine, {
      action: 'POST /pay',
      outcome: 'success',
      actor: { id: 'u-1', name: `Ann ${SECRET}` },
      attributes: { 'user.email': `${SECRET}@example.com`, keep: 'yes' },
      body: { request: captureBody({ card: { number: `4111-${SECRET}`, brand: 'visa' } }, { maxBytes: 4096 })! },
    });
    expect(text).not.toContain(SECRET);
    expect(record['actor']).toEqual({ id: 'u-1', type: 'user', name: DEFAULT_CENSOR });
    expect(record['attributes']).toEqual({ 'user.email': DEFAULT_CENSOR, keep: 'yes' });
    expect((record['body'] as { request: { content: unknown } }).request.content).toEqual({ card: { number: DEFAULT_CENSOR, brand: 'visa' } });
  });

  it('{paths, censor} uses the given censor, also for the default headers, query and body keys', async () => {
    const engine = await readyAudit({ queueDepth: 4, redact: { paths: ['attributes.ssn'], censor: '***' } });
    const { text, record } = await recorded(engine, {
      action: 'GET /x',
      outcome: 'success',
      attributes: { ssn: SECRET, 'http.request.header.cookie': [SECRET], 'url.query': `token=${SECRET}` },
    });
    expect(text).not.toContain(SECRET);
    expect(record['attributes']).toEqual({ ssn: '***', 'http.request.header.cookie': ['***'], 'url.query': 'token=***' });
  });

  it('{paths, remove: true} removes the members instead of censoring them', async () => {
    const engine = await readyAudit({ queueDepth: 4, redact: { paths: ['attributes.ssn', 'body.request.content.list[*].pin'], remove: true } });
    const { text, record } = await recorded(engine, {
      action: 'GET /x',
      outcome: 'success',
      attributes: { ssn: SECRET, 'http.request.header.authorization': [SECRET], 'url.query': `a=1&password=${SECRET}`, keep: 1 },
      body: { request: captureBody({ list: [{ pin: SECRET, n: 1 }], password: SECRET }, { maxBytes: 4096 })! },
    });
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(DEFAULT_CENSOR);
    expect(record['attributes']).toEqual({ 'url.query': 'a=1', keep: 1 });
    expect((record['body'] as { request: { content: unknown } }).request.content).toEqual({ list: [{ n: 1 }] });
  });

  it('extra headers and keys add to the defaults; defaults: false switches the defaults off', async () => {
    const extra = await readyAudit({ queueDepth: 4, redact: { headers: ['X-Session'], keys: ['pin'] } });
    const a = await recorded(extra, {
      action: 'a',
      outcome: 'success',
      attributes: { 'http.request.header.x-session': [SECRET], 'http.request.header.authorization': [SECRET], 'url.query': `pin=${SECRET}` },
    });
    expect(a.text).not.toContain(SECRET);
    const off = await readyAudit({ queueDepth: 4, redact: { defaults: false } });
    const b = await recorded(off, { action: 'a', outcome: 'success', attributes: { 'http.request.header.authorization': ['visible'] } });
    expect(b.text).toContain('visible');
  });

  it('redaction never changes the caller\'s event or body objects', async () => {
    const engine = await readyAudit({ queueDepth: 4, redact: { paths: ['body.request.content.card', 'attributes.a'], defaults: false } });
    const content = { card: SECRET, password: SECRET };
    const attributes = { a: SECRET, 'http.request.header.cookie': [SECRET] };
    const { text } = await recorded(engine, { action: 'a', outcome: 'success', attributes, body: { request: captureBody(content, { maxBytes: 4096 })! } });
    expect(text).not.toContain(`"card":"${SECRET}"`);
    expect(content).toEqual({ card: SECRET, password: SECRET });
    expect(attributes).toEqual({ a: SECRET, 'http.request.header.cookie': [SECRET] });
  });

  it('parses pino path syntax and rejects what it cannot parse', () => {
    expect(parsePath('a.b["c.d"][*].e')).toEqual(['a', 'b', 'c.d', '*', 'e']);
    expect(parsePath("attributes['http.request.header.x']")).toEqual(['attributes', 'http.request.header.x']);
    for (const bad of ['', 'a..b', 'a[', 'a["b]', '[]']) expect(() => parsePath(bad)).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_ARGUMENT' }) as Error);
  });
});

describe('no secret in any log line', () => {
  it('a whole session with secrets in headers, query, body, invalid and oversized events logs none of them', async () => {
    const logger = recordingLogger();
    const engine = await readyAudit({ queueDepth: 8, logger });
    const secretAttrs = { 'http.request.header.authorization': [`Bearer ${SECRET}`], 'url.query': `token=${SECRET}` };
    engine.emit({ action: 'GET /a', outcome: 'success', attributes: secretAttrs, body: { request: captureBody({ password: SECRET }, { maxBytes: 4096 })! } });
    expect(() => engine.emit({ action: 'GET /b', outcome: 'success', attributes: { ...secretAttrs, bad: Number.NaN } })).toThrow();
    expect(() => engine.emit({ action: 'GET /c', outcome: 'success', attributes: { ...secretAttrs, big: 'x'.repeat(70_000) } })).toThrow();
    engine.reserve().commit({ action: 'GET /d', outcome: 'success', attributes: { ...secretAttrs, bad: Number.NaN } });
    engine.reserve().commit({ action: 'GET /e', outcome: 'success', attributes: { ...secretAttrs, big: 'x'.repeat(70_000) } });
    await engine.flush();
    const records = await engine.read();
    expect(records).toHaveLength(3);
    for (const r of records) expect(decode(r.bytes)).not.toContain(SECRET);
    // Provoke the error paths that log: a verify failure.
    const held = heldRecords(internals(engine).log);
    held.set(0, new TextEncoder().encode(decode(held.get(0)).replace('GET /a', 'GET /z')));
    await expect(engine.read()).rejects.toThrow();
    await engine.close();
    expect(logger.lines.length).toBeGreaterThanOrEqual(2);
    expect(loggedText(logger.lines)).not.toContain(SECRET);
  });

  it('error messages thrown to the host do not echo secret values either', async () => {
    const engine = await readyAudit({ queueDepth: 8 });
    const errors: unknown[] = [];
    for (const bad of [
      { action: 'a', outcome: 'success', attributes: { 'http.request.header.authorization': { token: SECRET } } },
      { action: 'a', outcome: 'success', attributes: { pw: [SECRET, 5] } },
      { action: 'a', outcome: 'success', annotations: { note: 5 }, attributes: { p: SECRET } },
    ]) {
      try {
        engine.emit(bad as never);
      } catch (err) {
        errors.push(err);
      }
    }
    expect(errors).toHaveLength(3);
    for (const e of errors) expect(String((e as Error).message)).not.toContain(SECRET);
  });
});

describe('the redacted-header decision is kept per redactor', () => {
  it('two redactors with different header lists never share an answer, in either order, whatever the key case', () => {
    const plain = createRedactor(undefined);
    const strict = createRedactor({ headers: ['x-secret'] });
    const none = createRedactor({ defaults: false });
    for (let round = 0; round < 2; round++) {
      for (const key of ['http.request.header.x-secret', 'HTTP.REQUEST.HEADER.X-Secret', 'http.response.header.x-secret']) {
        expect(redactAttribute(key, 'v', plain)).toBe('v');
        expect(redactAttribute(key, 'v', strict)).toBe(DEFAULT_CENSOR);
      }
      expect(redactAttribute('http.request.header.authorization', 'Bearer t', none)).toBe('Bearer t');
      expect(redactAttribute('http.request.header.authorization', 'Bearer t', plain)).toBe(DEFAULT_CENSOR);
      expect(redactAttribute('http.request.header.Authorization', ['a', 'b'], strict)).toEqual([DEFAULT_CENSOR]);
    }
  });
});
