import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HOSTILE_CASES, HOSTILE_MAX_BODY_BYTES, HOSTILE_ROUTE, hostileRecordProblems, sendRaw } from '../../core/test/support/hostile-requests.js';
import { app, engine, records } from './helpers.js';

/** Issue 13 items 4, 5, 6, 8 against the Fastify plugin: the shared table of hostile requests, over a real socket. */
describe('hostile requests keep their record (Fastify)', () => {
  it.each(HOSTILE_CASES.map((c) => [c.name, c] as const))('%s: the record keeps method, route, status, client address and the digest of the bytes as received', async (_name, c) => {
    const e = await engine();
    const a = await app({ audit: e, level: 'request', maxBodyBytes: HOSTILE_MAX_BODY_BYTES }, (f) => {
      f.post(HOSTILE_ROUTE, async (_req, reply) => reply.code(201).send({ ok: true }));
    });
    await a.listen({ port: 0, host: '127.0.0.1' });
    const res = await sendRaw(`http://127.0.0.1:${(a.server.address() as AddressInfo).port}`, c);
    expect(res.headers['audit-id']).toMatch(/^[0-9a-f-]{36}$/);
    const record = (await records(e)).find((r) => r['id'] === res.headers['audit-id']);
    expect(hostileRecordProblems(record, c, res)).toEqual([]);
  });
});
