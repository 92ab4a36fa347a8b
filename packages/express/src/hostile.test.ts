import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AuditEngine } from '@ron-audit/core';
import { HOSTILE_CASES, HOSTILE_MAX_BODY_BYTES, HOSTILE_ROUTE, hostileRecordProblems, sendRaw } from '../../core/test/support/hostile-requests.js';
import { audit } from './index.js';
import { cleanup, records, testEngine } from './test-support/fixture.js';

const engines: AuditEngine[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(cleanup);

/** Issue 13 items 4, 5, 6, 8 against the Express middleware: the shared table of hostile requests, over a real socket. */
describe('hostile requests keep their record (Express)', () => {
  it.each(HOSTILE_CASES.map((c) => [c.name, c] as const))('%s: the record keeps method, route, status, client address and the digest of the bytes as received', async (_name, c) => {
    const e = await testEngine();
    engines.push(e);
    const app = express();
    app.use(audit({ audit: e, level: 'request', maxBodyBytes: HOSTILE_MAX_BODY_BYTES }));
    app.use(express.json());
    app.post(HOSTILE_ROUTE, (_req, res) => {
      res.status(201).json({ ok: true });
    });
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((r) => server.once('listening', r));
    const res = await sendRaw(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, c);
    expect(res.headers['audit-id']).toMatch(/^[0-9a-f-]{36}$/);
    await e.flush();
    const record = (await records(e)).find((r) => r.id === res.headers['audit-id']);
    expect(hostileRecordProblems(record, c, res)).toEqual([]);
  });
});
