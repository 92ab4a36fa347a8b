import { describe, expect, it } from 'vitest';
import { captureBody, createBodyCapture } from './body.js';

describe('streaming body capture', () => {
  it('equals captureBody of the whole body for any chunking, with memory bounded by maxBytes', () => {
    let seed = 3;
    const rnd = (n: number) => ((seed = (seed * 16807) % 2147483647), seed % n);
    const bodies: [string | Uint8Array, string | undefined][] = [
      [JSON.stringify({ a: 1, password: 'x' }), 'application/json'],
      ['héllo wörld '.repeat(50), 'text/plain'],
      [Uint8Array.from({ length: 3000 }, (_, i) => i % 256), 'application/octet-stream'],
      ['{"cut":"' + 'y'.repeat(500) + '"}', 'application/json'],
    ];
    for (const [body, contentType] of bodies) {
      for (const maxBytes of [0, 7, 64, 10_000]) {
        const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
        const cap = createBodyCapture({ maxBytes, contentType });
        for (let off = 0; off < bytes.length; ) {
          const n = 1 + rnd(97);
          cap.update(bytes.subarray(off, off + n));
          off += n;
        }
        expect(cap.finish()).toEqual(captureBody(bytes, { maxBytes, contentType }));
      }
    }
  });

  it('refuses bad options and updates after finish', () => {
    expect(() => createBodyCapture({ maxBytes: -1 })).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_ARGUMENT' }));
    expect(() => createBodyCapture(null as never)).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_ARGUMENT' }));
    const c = createBodyCapture({ maxBytes: 4 });
    c.finish();
    expect(() => c.update('x')).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_ARGUMENT' }));
    expect(() => createBodyCapture({ maxBytes: 4 }).update(42 as never)).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_ARGUMENT' }));
    expect(() => c.finish()).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_ARGUMENT' }));
    expect(() => createBodyCapture({ maxBytes: 4, contentType: 7 as never })).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_ARGUMENT' }));
  });

  it('digests bodies at and just past the kept head the same whichever hasher runs (one-shot backend below, streaming above)', () => {
    for (const len of [0, 1, 8, 9, 10, 100]) {
      const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 7) % 256);
      const one = createBodyCapture({ maxBytes: 8, contentType: 'application/octet-stream' });
      for (const b of bytes) one.update(Uint8Array.of(b));
      expect(one.finish()).toEqual(captureBody(bytes, { maxBytes: 8, contentType: 'application/octet-stream' }));
    }
  });
});

describe('form bodies', () => {
  it('are recorded as fields, so a password in a login form is redacted like a JSON member', async () => {
    const body = 'user=alice&password=hunter2&tag=a&tag=b';
    const c = captureBody(body, { maxBytes: 1024, contentType: 'application/x-www-form-urlencoded; charset=utf-8' });
    expect(c).toMatchObject({ encoding: 'json', truncated: false, content: { user: 'alice', password: 'hunter2', tag: ['a', 'b'] } });
    const { prepareEvent, uuidv7 } = await import('./record.js');
    const { createRedactor } = await import('./redact.js');
    const p = prepareEvent({ action: 'login', outcome: 'success', body: { request: c! } }, createRedactor(undefined), uuidv7);
    expect(p.head).not.toContain('hunter2');
    expect(p.head).toContain('"password":"[REDACTED]"');
    const cut = captureBody(body, { maxBytes: 10, contentType: 'application/x-www-form-urlencoded' });
    expect(cut).toMatchObject({ truncated: true, content: '', size: body.length });
  });
});
