import { describe, expect, it } from 'vitest';
import { app, engineOptions } from './helpers.js';

const hooks = ['onRequest', 'preHandler', 'onSend', 'onError', 'onResponse', 'onRequestAbort'] as const;
/** The request hooks on the app's GET /x, as Fastify lists them. */
const installed = (a: import('fastify').FastifyInstance) => {
  const text = a.printRoutes({ includeHooks: true, commonPrefix: false }).split('/x (HEAD)')[0]!;
  return hooks.filter((h) => text.includes(`(${h})`));
};
const withX = (f: import('fastify').FastifyInstance) => f.get('/x', async () => 'ok');

describe('AUDIT_ENABLED=false installs nothing on the request path but the readiness endpoint', () => {
  it('an enabled engine has its record hooks; a disabled one only the readiness hook, and none with readiness: false', async () => {
    const on = await app({ engine: await engineOptions() }, withX);
    expect(installed(on)).toEqual(['onRequest', 'preHandler', 'onSend', 'onError', 'onResponse', 'onRequestAbort']);
    const off = await app({ engine: await engineOptions({ enabled: false }) }, withX);
    expect(installed(off)).toEqual(['onRequest']);
    const bare = await app({ engine: await engineOptions({ enabled: false }), readiness: false }, withX);
    expect(installed(bare)).toEqual([]);
  });

  it('requests are served without an Audit-Id and nothing is recorded; readiness and metrics still answer', async () => {
    const a = await app({ engine: await engineOptions({ enabled: false }), readiness: true, metrics: true }, (f) => {
      f.get('/x', async () => 'ok');
      f.post('/y', async () => ({ made: true }));
    });
    for (const r of [await a.inject('/x'), await a.inject({ method: 'POST', url: '/y', payload: { a: 1 } })]) {
      expect(r.statusCode).toBe(200);
      expect(r.headers['audit-id']).toBeUndefined();
    }
    const ready = await a.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true, status: 'disabled', reasons: [] });
    const metrics = await a.inject('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/^audit_appended_total 0$/m);
    expect(a.audit.health().log.size).toBe(0);
  });
});
