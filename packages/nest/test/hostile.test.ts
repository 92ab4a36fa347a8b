import 'reflect-metadata';
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { afterEach, describe, expect, it } from 'vitest';
import { HOSTILE_CASES, HOSTILE_MAX_BODY_BYTES, HOSTILE_ROUTE, hostileRecordProblems, sendRaw } from '../../core/test/support/hostile-requests.js';
import { Audit } from '../src/index.js';
import { moduleOptions, PLATFORMS, records, start, type Running } from './harness.js';

@Controller()
class HostileController {
  @Post(HOSTILE_ROUTE.slice(1))
  @HttpCode(201)
  @Audit({ level: 'request' })
  order(@Body() _body: unknown): { ok: true } {
    return { ok: true };
  }
}

/** The level comes from the controller only: the handler Nest registers carries no @Audit of its own. */
@Controller()
@Audit({ level: 'request' })
class ControllerLevelController {
  @Post(HOSTILE_ROUTE.slice(1))
  @HttpCode(201)
  order(@Body() _body: unknown): { ok: true } {
    return { ok: true };
  }
}

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.app.close()));
});

/** Issue 13 items 4, 5, 6, 8 against the Nest module on both platforms: the shared table of hostile requests, over a real socket. */
describe.each(PLATFORMS)('hostile requests keep their record (Nest on %s)', (platform) => {
  it.each(HOSTILE_CASES.map((c) => [c.name, c] as const))('%s: the record keeps method, route, status, client address and the digest of the bytes as received', async (_name, c) => {
    const r = await start(platform, await moduleOptions({ maxBodyBytes: HOSTILE_MAX_BODY_BYTES }), { controllers: [HostileController] });
    running.push(r);
    const res = await sendRaw(r.url, c);
    expect(res.headers['audit-id']).toMatch(/^[0-9a-f-]{36}$/);
    const record = (await records(r.engine)).find((x) => x.id === res.headers['audit-id']);
    expect(hostileRecordProblems(record, c, res)).toEqual([]);
  });
});

describe.each(PLATFORMS)('a controller-level @Audit({ level: "request" }) taps the bytes too (Nest on %s)', (platform) => {
  it('the record of a body with a lone surrogate has the digest of the bytes sent, not of a parsed value', async () => {
    const c = HOSTILE_CASES.find((x) => x.name.includes('lone surrogate'))!;
    const r = await start(platform, await moduleOptions({ maxBodyBytes: HOSTILE_MAX_BODY_BYTES }), { controllers: [ControllerLevelController] });
    running.push(r);
    const res = await sendRaw(r.url, c);
    const record = (await records(r.engine)).find((x) => x.id === res.headers['audit-id']);
    expect(hostileRecordProblems(record, c, res)).toEqual([]);
  });
});
