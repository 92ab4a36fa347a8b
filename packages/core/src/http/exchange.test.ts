import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, readyAudit, thrown } from '../../test/support/engine.js';
import { AuditError } from '../errors.js';
import { capturedBody, captureBody } from '../record/body.js';
import { HEADERS_ANNOTATION, httpEvent, MAX_ATTRIBUTES, REQUEST_BODY_ANNOTATION, type HttpExchange } from './exchange.js';

afterEach(cleanup);

const base: HttpExchange = { method: 'POST', route: '/orders', path: '/orders', status: 201, aborted: false, durationMs: 1.5, clientAddress: '127.0.0.1', level: 'request', maxBodyBytes: 1024 };

function headers(n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h-${i}`, `v${i}`]));
}

describe('httpEvent', () => {
  // Issue 13 item 8: 117 headers and more made the event invalid (over 128 attributes) and the engine kept only the reduced record, attributes {}.
  it('more request headers than attributes allowed are bounded, annotated, and the record keeps every HTTP attribute', async () => {
    const engine = await readyAudit({ queueDepth: 8 });
    for (const n of [116, 117, 200, 2000]) {
      const ev = httpEvent({ ...base, requestHeaders: headers(n) });
      const attrs = ev.attributes!;
      expect(Object.keys(attrs).length).toBeLessThanOrEqual(MAX_ATTRIBUTES);
      expect(attrs).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/orders', 'http.response.status_code': 201, 'client.address': '127.0.0.1' });
      expect(attrs['http.request.header.x-h-0']).toEqual(['v0']);
      const kept = Object.keys(attrs).filter((k) => k.startsWith('http.request.header.')).length;
      if (kept < n) expect(ev.annotations?.[HEADERS_ANNOTATION]).toBe(`${n - kept} request and 0 response headers not recorded (at most ${MAX_ATTRIBUTES} attributes)`);
      else expect(ev.annotations?.[HEADERS_ANNOTATION]).toBeUndefined();
      const slot = engine.reserve();
      slot.commit(ev);
    }
    await engine.flush();
    for (const r of await engine.read()) {
      expect(r.record['attributes']).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/orders' });
      expect((r.record['annotations'] as Record<string, string>)['ron-audit.invalid']).toBeUndefined();
    }
  });

  it('at requestResponse, many request headers leave room for the response headers', () => {
    const ev = httpEvent({ ...base, level: 'requestResponse', requestHeaders: headers(500), responseHeaders: { 'content-type': 'application/json', 'audit-id': 'x' } });
    expect(Object.keys(ev.attributes!).length).toBe(MAX_ATTRIBUTES);
    expect(ev.attributes!['http.response.header.content-type']).toEqual(['application/json']);
    expect(ev.annotations?.[HEADERS_ANNOTATION]).toMatch(/^\d+ request and 0 response headers not recorded/);
  });

  it('a body kept out of content is annotated with why; host annotations are kept beside it', () => {
    const ev = httpEvent({ ...base, requestBody: '{"n":1e400}', requestContentType: 'application/json', annotations: { note: 'host' } });
    expect(ev.body?.request).toMatchObject({ encoding: 'utf8', content: '', truncated: false });
    expect(ev.annotations).toEqual({ note: 'host', [REQUEST_BODY_ANNOTATION]: 'omitted: $.n: a number outside the IEEE-754 double range' });
  });

  it('a parsed body with no canonical form is left out and annotated, never digested as the text of an object', () => {
    const ev = httpEvent({ ...base, requestBody: { s: '\ud800' } });
    expect(ev.body).toBeUndefined();
    expect(ev.annotations?.[REQUEST_BODY_ANNOTATION]).toMatch(/^omitted: .*lone surrogate/);
  });

  it('a capturedBody() is recorded as given, its omitted reason as the annotation', () => {
    const c = captureBody(new Uint8Array([0x7b, 0xff]), { maxBytes: 10, contentType: 'application/json' })!;
    const ev = httpEvent({ ...base, requestBody: capturedBody(c) });
    expect(ev.body?.request).toMatchObject({ size: 2, digest: c.digest });
    expect(ev.annotations?.[REQUEST_BODY_ANNOTATION]).toBe('omitted: not valid UTF-8');
  });

  const bad: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['a string', 'POST /x'],
    ['method missing', { ...base, method: undefined }],
    ['method empty', { ...base, method: '' }],
    ['path a number', { ...base, path: 5 }],
    ['status NaN', { ...base, status: Number.NaN }],
    ['status a string', { ...base, status: '201' }],
    ['durationMs Infinity', { ...base, durationMs: Number.POSITIVE_INFINITY }],
    ['level unknown', { ...base, level: 'everything' }],
    ['maxBodyBytes negative', { ...base, maxBodyBytes: -1 }],
    ['maxBodyBytes huge', { ...base, maxBodyBytes: 2 ** 60 }],
  ];
  it.each(bad)('refuses an exchange with %s with AUDIT_INVALID_ARGUMENT', (_name, x) => {
    const err = thrown(() => httpEvent(x as never));
    expect(err).toBeInstanceOf(AuditError);
    expect((err as AuditError).code).toBe('AUDIT_INVALID_ARGUMENT');
  });
});
