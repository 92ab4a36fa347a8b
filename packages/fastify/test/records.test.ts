import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { app, engine, recordBytes, records } from './helpers.js';

const TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('one record per request', () => {
  it('records method, route template, path, status, client, user agent, request id, trace ids and actor; Audit-Id is the record id', async () => {
    const e = await engine();
    const a = await app({ audit: e }, (f) => {
      f.decorateRequest('user', null);
      f.get('/orders/:id', { onRequest: async (req) => void ((req as unknown as { user: unknown }).user = { id: 'u-1', name: 'Ann', roles: ['admin'] }) }, async (req) => ({ id: (req.params as { id: string }).id }));
    }, { genReqId: () => 'req-7' });
    const res = await a.inject({ method: 'GET', url: '/orders/42?expand=1', headers: { 'user-agent': 'vitest/1', traceparent: TRACE } });
    expect(res.statusCode).toBe(200);
    const [r] = await records(e);
    expect(r).toBeDefined();
    expect(res.headers['audit-id']).toBe(r!['id']);
    expect(r!['action']).toBe('GET /orders/:id');
    expect(r!['outcome']).toBe('success');
    expect(r!['request_id']).toBe('req-7');
    expect(r!['trace_id']).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(r!['span_id']).toBe('00f067aa0ba902b7');
    expect(r!.actor).toEqual({ id: 'u-1', type: 'user', name: 'Ann', groups: ['admin'] });
    expect(r!.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/orders/42',
      'url.query': 'expand=1',
      'http.route': '/orders/:id',
      'http.response.status_code': 200,
      'client.address': '127.0.0.1',
      'user_agent.original': 'vitest/1',
    });
    expect(typeof r!.attributes['http.server.request.duration']).toBe('number');
    expect(r!.attributes['http.request.header.user-agent']).toBeUndefined(); // metadata level: no headers
    expect(r!['body']).toBeUndefined();
  });

  it('takes the client address through trustProxy (X-Forwarded-For)', async () => {
    const e = await engine();
    const a = await app({ audit: e }, (f) => f.get('/x', async () => 'ok'), { trustProxy: true });
    await a.inject({ url: '/x', headers: { 'x-forwarded-for': '203.0.113.7' } });
    const untrusted = await app({ audit: e }, (f) => f.get('/x', async () => 'ok'));
    await untrusted.inject({ url: '/x', headers: { 'x-forwarded-for': '203.0.113.7' } });
    const [trusted, direct] = await records(e);
    expect(trusted!.attributes['client.address']).toBe('203.0.113.7');
    expect(direct!.attributes['client.address']).toBe('127.0.0.1');
  });

  it('uses the actor hook, read after authentication ran in a route preHandler', async () => {
    const e = await engine();
    const a = await app({ audit: e, actor: (req) => {
      const who = (req as unknown as { who?: string }).who;
      return who === undefined ? undefined : { id: who, type: 'service', groups: ['batch'] };
    } }, (f) => {
      f.post('/jobs', { preHandler: async (req) => void ((req as unknown as { who: string }).who = 'svc-9') }, async () => ({ ok: true }));
    });
    await a.inject({ method: 'POST', url: '/jobs', payload: { a: 1 } });
    const [r] = await records(e);
    expect(r!.actor).toEqual({ id: 'svc-9', type: 'service', groups: ['batch'] });
  });

  it('records an actor hook that throws as anonymous with the reason, and the request still succeeds', async () => {
    const e = await engine();
    const a = await app({ audit: e, actor: () => { throw new Error('token store down'); } }, (f) => f.get('/x', async () => 'ok'));
    const res = await a.inject('/x');
    expect(res.statusCode).toBe(200);
    const [r] = await records(e);
    expect(r!.actor).toEqual({ id: 'anonymous', type: 'anonymous' });
    expect(r!['annotations']).toEqual({ 'ron-audit.actor_error': 'token store down' });
  });

  it('records requests rejected by authentication (401 in onRequest, 403 in preHandler) with Audit-Id', async () => {
    const e = await engine();
    const a = await app({ audit: e }, (f) => {
      f.get('/a', { onRequest: async (_req, reply) => reply.code(401).send({ error: 'no token' }) }, async () => 'never');
      f.get('/b', { preHandler: async () => { throw Object.assign(new Error('forbidden'), { statusCode: 403, code: 'FORBIDDEN' }); } }, async () => 'never');
    });
    const r401 = await a.inject('/a');
    const r403 = await a.inject('/b');
    expect(r401.statusCode).toBe(401);
    expect(r403.statusCode).toBe(403);
    const [x, y] = await records(e);
    expect(r401.headers['audit-id']).toBe(x!['id']);
    expect(r403.headers['audit-id']).toBe(y!['id']);
    expect(x!['outcome']).toBe('failure');
    expect(x!.attributes['http.response.status_code']).toBe(401);
    expect(x!.actor).toEqual({ id: 'anonymous', type: 'anonymous' });
    expect(y!.attributes).toMatchObject({ 'http.response.status_code': 403, 'error.type': 'FORBIDDEN', 'exception.message': 'forbidden' });
  });

  it('records unknown routes (404) without a route template, labelled (unmatched)', async () => {
    const e = await engine();
    const a = await app({ audit: e }, (f) => f.get('/x', async () => 'ok'));
    const res = await a.inject('/nope/123');
    expect(res.statusCode).toBe(404);
    const [r] = await records(e);
    expect(res.headers['audit-id']).toBe(r!['id']);
    expect(r!['action']).toBe('GET (unmatched)');
    expect(r!.attributes['http.route']).toBeUndefined();
    expect(r!.attributes['url.path']).toBe('/nope/123');
    expect(r!['outcome']).toBe('failure');
  });

  it('records a handler error as a failure with its type and message, and Audit-Id on the 500', async () => {
    const e = await engine();
    const a = await app({ audit: e }, (f) => f.get('/boom', async () => { throw new TypeError('kaput'); }));
    const res = await a.inject('/boom');
    expect(res.statusCode).toBe(500);
    const [r] = await records(e);
    expect(res.headers['audit-id']).toBe(r!['id']);
    expect(r!.attributes).toMatchObject({ 'http.response.status_code': 500, 'error.type': 'TypeError', 'exception.message': 'kaput' });
  });

  it('records a streamed response without its body', async () => {
    const e = await engine();
    const a = await app({ audit: e, level: 'requestResponse' }, (f) => f.get('/dl', async (_req, reply) => reply.type('text/plain').send(Readable.from(['a', 'b']))));
    const res = await a.inject('/dl');
    expect(res.body).toBe('ab');
    const [r] = await records(e);
    expect(res.headers['audit-id']).toBe(r!['id']);
    expect((r!['body'] as Record<string, unknown> | undefined)?.['response']).toBeUndefined();
  });

  it('records a hijacked long-lived route (SSE) when its raw response ends, from the long-lived pool', async () => {
    const e = await engine({ queueDepth: 4, longLivedSlots: 1 });
    const a = await app({ audit: e }, (f) =>
      f.get('/events', { config: { audit: { longLived: true, action: 'events.stream' } } }, async (_req, reply) => {
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
        reply.raw.write('data: 1\n\n');
        reply.raw.end('data: 2\n\n');
      }),
    );
    const res = await a.inject('/events');
    expect(res.body).toBe('data: 1\n\ndata: 2\n\n');
    const [r] = await records(e);
    expect(r!['action']).toBe('events.stream');
    expect(r!['outcome']).toBe('success');
    expect(e.health().queue.occupancy).toBe(0);
  });
});

describe('per-route control', () => {
  it('a route with config.audit false has no record and no Audit-Id', async () => {
    const e = await engine();
    const a = await app({ audit: e }, (f) => {
      f.get('/healthz', { config: { audit: false } }, async () => 'ok');
      f.get('/quiet', { config: { audit: { level: 'none' } } }, async () => 'ok');
      f.get('/x', async () => 'ok');
    });
    const h = await a.inject('/healthz');
    const q = await a.inject('/quiet');
    await a.inject('/x');
    expect(h.headers['audit-id']).toBeUndefined();
    expect(q.headers['audit-id']).toBeUndefined();
    const rs = await records(e);
    expect(rs.map((r) => r.attributes['url.path'])).toEqual(['/x']);
  });

  it('rules apply in order (first match wins); route config wins over rules', async () => {
    const e = await engine();
    const a = await app(
      {
        audit: e,
        rules: [
          { route: /^\/internal\//, level: 'none' },
          { method: 'POST', route: '/orders', level: 'request', action: 'order.create' },
          { method: 'POST', level: 'metadata' },
        ],
      },
      (f) => {
        f.get('/internal/stats', async () => 'ok');
        f.post('/orders', async () => ({ ok: true }));
        f.post('/notes', async () => ({ ok: true }));
        f.post('/special', { config: { audit: { level: 'requestResponse', action: 'special.do' } } }, async () => ({ done: true }));
      },
    );
    const i = await a.inject('/internal/stats');
    expect(i.headers['audit-id']).toBeUndefined();
    await a.inject({ method: 'POST', url: '/orders', payload: { qty: 2 } });
    await a.inject({ method: 'POST', url: '/notes', payload: { text: 'hi' } });
    await a.inject({ method: 'POST', url: '/special', payload: { x: 1 } });
    const [orders, notes, special] = await records(e);
    expect(orders!['action']).toBe('order.create');
    expect(orders!['body']).toEqual({ request: expect.objectContaining({ encoding: 'json', content: { qty: 2 }, truncated: false }) });
    expect(notes!['body']).toBeUndefined();
    expect(special!['action']).toBe('special.do');
    expect(special!['body']).toEqual({
      request: expect.objectContaining({ content: { x: 1 } }),
      response: expect.objectContaining({ encoding: 'json', content: { done: true } }),
    });
  });
});

describe('bodies and redaction', () => {
  it('captures bodies at request/requestResponse and cuts them at maxBodyBytes with size and digest', async () => {
    const e = await engine();
    const big = 'x'.repeat(300);
    const a = await app({ audit: e, level: 'requestResponse', maxBodyBytes: 64 }, (f) => {
      f.post('/echo', async (req, reply) => reply.type('text/plain').send(String((req.body as { s: string }).s)));
    });
    const res = await a.inject({ method: 'POST', url: '/echo', payload: { s: big } });
    expect(res.body).toBe(big);
    const [r] = await records(e);
    const body = r!['body'] as { request: Record<string, unknown>; response: Record<string, unknown> };
    expect(body.request).toMatchObject({ truncated: true, size: JSON.stringify({ s: big }).length });
    expect(body.request['digest']).toMatch(/^[0-9a-f]{64}$/);
    expect(body.response).toMatchObject({ truncated: true, size: 300, encoding: 'utf8', content: 'x'.repeat(64) });
  });

  it('never writes the Authorization header or a ?token= value into record bytes', async () => {
    const e = await engine();
    const a = await app({ audit: e, level: 'requestResponse' }, (f) => f.post('/login', async () => ({ token: 'resp-secret-123', ok: true })));
    await a.inject({ method: 'POST', url: '/login?token=query-secret-456&x=1', headers: { authorization: 'Bearer hdr-secret-789', cookie: 'sid=cookie-secret' }, payload: { user: 'ann', password: 'pw-secret-000' } });
    const bytes = await recordBytes(e);
    for (const secret of ['query-secret-456', 'hdr-secret-789', 'cookie-secret', 'pw-secret-000', 'resp-secret-123']) expect(bytes).not.toContain(secret);
    const [r] = await records(e);
    expect(r!.attributes['http.request.header.authorization']).toEqual(['[REDACTED]']);
    expect(r!.attributes['url.query']).toContain('x=1');
  });
});
