import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { thrown } from '../../test/support/engine.js';
import { AuditError } from '../errors.js';
import { tapRequestBody } from './raw-body.js';

const digestOf = (b: Uint8Array): string => bytesToHex(blake3(b));

function stream(chunks: (Buffer | string)[], headers: Record<string, string>): Readable & { headers: Record<string, string> } {
  return Object.assign(Readable.from(chunks, { objectMode: false }), { headers });
}

/** A real server: `read` decides how the handler consumes the body; resolves with the tap's result once the response is sent. */
async function serve(body: Buffer, read: (req: IncomingMessage) => Promise<void>, maxBytes = 64): Promise<ReturnType<ReturnType<typeof tapRequestBody>['result']>> {
  let result: ReturnType<ReturnType<typeof tapRequestBody>['result']> | undefined;
  const server = createServer((req, res) => {
    const tap = tapRequestBody(req, { maxBytes });
    void read(req).then(() => {
      result = tap.result();
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length), connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
  await new Promise((r) => server.close(r));
  return result!;
}

describe('tapRequestBody', () => {
  it('sees every byte a consumer reads, whether it iterates, reads in paused mode or listens later, and digests them as received', async () => {
    const body = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
    const iterate = async (req: IncomingMessage): Promise<void> => {
      for await (const _ of req) void _;
    };
    // A consumer attached after an asynchronous step: the tap must not have started the flow and lost chunks to it.
    const late = async (req: IncomingMessage): Promise<void> => {
      await new Promise((r) => setTimeout(r, 20));
      await new Promise<void>((resolve) => {
        req.on('data', () => undefined);
        req.on('end', resolve);
      });
    };
    for (const read of [iterate, late]) {
      const r = await serve(body, read);
      expect(r.note).toBeUndefined();
      expect(r.body).toMatchObject({ size: 300, digest: digestOf(body), truncated: true, encoding: 'base64', content: body.subarray(0, 64).toString('base64') });
    }
  });

  it('a body nobody read has no digest, and says so', async () => {
    const r = await serve(Buffer.alloc(100, 1), async () => undefined);
    expect(r.body).toBeUndefined();
    expect(r.note).toMatch(/^not received: the application read 0 bytes of 100 \(content-length\)/);
  });

  it('a request without a body records none; an empty body read to its end is recorded as empty', async () => {
    const none = stream([], {});
    const t1 = tapRequestBody(none, { maxBytes: 10 });
    expect(t1.result()).toEqual({});
    const empty = stream([], { 'content-length': '0', 'content-type': 'text/plain' });
    const t2 = tapRequestBody(empty, { maxBytes: 10 });
    for await (const _ of empty) void _;
    expect(t2.result()).toEqual({});
    const chunked = stream([], { 'transfer-encoding': 'chunked', 'content-type': 'text/plain' });
    const t3 = tapRequestBody(chunked, { maxBytes: 10 });
    for await (const _ of chunked) void _;
    expect(t3.result().body).toMatchObject({ size: 0, digest: digestOf(new Uint8Array(0)), truncated: false });
  });

  it('a JSON body kept whole is structured content, and the result is stable when asked twice', async () => {
    const s = stream(['{"a":', Buffer.from('1}')], { 'content-type': 'application/json', 'content-length': '7' });
    const tap = tapRequestBody(s, { maxBytes: 100 });
    for await (const _ of s) void _;
    const first = tap.result();
    expect({ ...first.body }).toMatchObject({ size: 7, digest: digestOf(Buffer.from('{"a":1}')), encoding: 'json', content: { a: 1 } });
    expect(tap.result()).toBe(first);
  });

  const badReq: unknown[] = [undefined, null, 5, 'req', {}, { emit: 'x' }];
  it.each(badReq)('refuses req %o with AUDIT_INVALID_ARGUMENT', (req) => {
    const err = thrown(() => tapRequestBody(req, { maxBytes: 1 }));
    expect(err).toBeInstanceOf(AuditError);
    expect((err as AuditError).code).toBe('AUDIT_INVALID_ARGUMENT');
  });

  const badOptions: unknown[] = [undefined, null, 5, {}, { maxBytes: -1 }, { maxBytes: 1.5 }, { maxBytes: '8' }, { maxBytes: Number.NaN }, { maxBytes: Number.POSITIVE_INFINITY }];
  it.each(badOptions)('refuses options %o with AUDIT_INVALID_ARGUMENT', (options) => {
    const err = thrown(() => tapRequestBody(stream([], {}), options as never));
    expect(err).toBeInstanceOf(AuditError);
    expect((err as AuditError).code).toBe('AUDIT_INVALID_ARGUMENT');
  });
});
