import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { moduleOptions, PLATFORMS, recordById, records, resetCalls, start, verified, type Running } from './harness.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

describe.each(PLATFORMS)('records on platform-%s', (platform) => {
  let run: Running;
  beforeEach(async () => {
    resetCalls();
    run = await start(platform, await moduleOptions(), { trustProxy: true });
  });
  afterEach(async () => {
    await run.app.close();
  });

  it('records one request with the core schema and returns its id as Audit-Id', async () => {
    const res = await fetch(`${run.url}/things/42?color=red`, {
      headers: { 'user-agent': 'probe/1.0', 'x-request-id': 'req-abc', traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, 'x-forwarded-for': '203.0.113.7' },
    });
    expect(res.status).toBe(200);
    const id = res.headers.get('audit-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const all = await records(run.engine);
    expect(all).toHaveLength(1);
    const r = all[0]!;
    expect(r.id).toBe(id);
    expect(r.action).toBe('GET /things/:id');
    expect(r.outcome).toBe('success');
    expect(r.actor).toEqual({ id: 'anonymous', type: 'anonymous' });
    expect(r['request_id']).toBe('req-abc');
    expect(r['trace_id']).toBe(TRACE_ID);
    expect(r['span_id']).toBe(SPAN_ID);
    expect(r.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/things/42',
      'url.query': 'color=red',
      'http.route': '/things/:id',
      'http.response.status_code': 200,
      'client.address': '203.0.113.7',
      'user_agent.original': 'probe/1.0',
      'url.scheme': 'http',
    });
    expect(typeof r.attributes['http.server.request.duration']).toBe('number');
    // metadata level: no headers, no bodies
    expect(Object.keys(r.attributes).some((k) => k.startsWith('http.request.header.'))).toBe(false);
    expect(r.body).toBeUndefined();
  });

  it('reads the actor after the guard authenticated the request', async () => {
    const res = await fetch(`${run.url}/orders`, { method: 'POST', headers: { authorization: 'Bearer u-42', 'content-type': 'application/json' }, body: '{"sku":"a1"}' });
    expect(res.status).toBe(201);
    const r = await recordById(run.engine, res.headers.get('audit-id'));
    expect(r?.actor).toEqual({ id: 'u-42', type: 'user', name: 'Ada', groups: ['ops'] });
    expect(r?.attributes['http.route']).toBe('/orders');
    expect(r?.outcome).toBe('success');
  });

  it('records requests the authentication guard rejects (401) and the authorization guard forbids (403)', async () => {
    const unauth = await fetch(`${run.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(unauth.status).toBe(401);
    const forbidden = await fetch(`${run.url}/admin`);
    expect(forbidden.status).toBe(403);
    const r401 = await recordById(run.engine, unauth.headers.get('audit-id'));
    const r403 = await recordById(run.engine, forbidden.headers.get('audit-id'));
    expect(r401).toMatchObject({ action: 'POST /orders', outcome: 'failure', actor: { id: 'anonymous' } });
    expect(r401?.attributes['http.response.status_code']).toBe(401);
    expect(r403).toMatchObject({ action: 'GET /admin', outcome: 'failure' });
    expect(r403?.attributes).toMatchObject({ 'http.route': '/admin', 'http.response.status_code': 403 });
  });

  it('records requests no route matches (404) without a route template', async () => {
    const res = await fetch(`${run.url}/no/such/path?x=1`);
    expect(res.status).toBe(404);
    const r = await recordById(run.engine, res.headers.get('audit-id'));
    expect(r).toMatchObject({ action: 'GET (unmatched)', outcome: 'failure' });
    expect(r?.attributes['url.path']).toBe('/no/such/path');
    expect(r?.attributes['http.response.status_code']).toBe(404);
    expect(r?.attributes['http.route']).toBeUndefined();
  });

  it('records what a handler threw (500) by name and message, never the stack', async () => {
    const res = await fetch(`${run.url}/boom`);
    expect(res.status).toBe(500);
    const r = await recordById(run.engine, res.headers.get('audit-id'));
    expect(r?.outcome).toBe('failure');
    expect(r?.attributes).toMatchObject({ 'error.type': 'Error', 'exception.message': 'kaput', 'http.response.status_code': 500 });
  });

  it('does not record an opted-out route and sends no Audit-Id', async () => {
    const res = await fetch(`${run.url}/skip`);
    expect(res.status).toBe(200);
    expect(res.headers.get('audit-id')).toBeNull();
    expect(await records(run.engine)).toHaveLength(0);
  });

  it('captures request and response bodies at requestResponse, with the decorator action', async () => {
    const res = await fetch(`${run.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-trace-me': 'yes' }, body: JSON.stringify({ n: 1, password: 'hunter2' }) });
    expect(res.status).toBe(200);
    const r = await recordById(run.engine, res.headers.get('audit-id'));
    expect(r?.action).toBe('echo.call');
    expect(r?.body?.request).toMatchObject({ encoding: 'json', truncated: false, content: { n: 1, password: '[REDACTED]' } });
    expect(r?.body?.response).toMatchObject({ encoding: 'json', truncated: false, content: { n: 1, password: '[REDACTED]' } });
    expect(r?.attributes['http.request.header.x-trace-me']).toEqual(['yes']);
    expect(r?.attributes['http.response.header.audit-id']).toEqual([r?.id]);
    expect(String(r?.attributes['http.response.header.content-type'])).toMatch(/^application\/json/);
  });

  it('cuts a body above maxBodyBytes, keeping its size and digest', async () => {
    const big = 'x'.repeat(20_000);
    const res = await fetch(`${run.url}/upload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ big }) });
    expect(res.status).toBe(200);
    const r = await recordById(run.engine, res.headers.get('audit-id'));
    const captured = r?.body?.request;
    expect(captured).toMatchObject({ truncated: true, size: JSON.stringify({ big }).length });
    expect(captured?.['digest']).toMatch(/^[0-9a-f]{64}$/);
    expect(r?.body?.response).toBeUndefined();
  });

  it('never writes the Authorization header or a ?token= value into record bytes', async () => {
    const secret = 'Bearer s3cr3t-value';
    const res = await fetch(`${run.url}/upload?token=tok-very-secret&keep=1`, { method: 'POST', headers: { authorization: secret, 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(res.status).toBe(200);
    const all = await verified(run.engine);
    const text = all.map((x) => new TextDecoder().decode(x.bytes)).join('\n');
    expect(text).not.toContain('s3cr3t-value');
    expect(text).not.toContain('tok-very-secret');
    const r = all.find((x) => x.record['id'] === res.headers.get('audit-id'))!.record as { attributes: Record<string, unknown> };
    expect(r.attributes['http.request.header.authorization']).toEqual(['[REDACTED]']);
    expect(r.attributes['url.query']).toContain('keep=1');
  });
});
