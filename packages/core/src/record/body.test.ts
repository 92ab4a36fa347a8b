import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, readyAudit, thrown } from '../../test/support/engine.js';
import { AuditError } from '../errors.js';
import { captureBody } from './body.js';

afterEach(cleanup);

const utf8 = new TextEncoder();
const digestOf = (b: Uint8Array | string): string => bytesToHex(blake3(typeof b === 'string' ? utf8.encode(b) : b));

describe('captureBody', () => {
  it('keeps a JSON body that fits as its parsed value; size and BLAKE3 digest cover the raw bytes', () => {
    const raw = '{"b": 2, "a": [1, "é"]}';
    const c = captureBody(raw, { maxBytes: 1024, contentType: 'application/json; charset=utf-8' });
    expect(c).toEqual({ size: utf8.encode(raw).length, digest: digestOf(raw), truncated: false, encoding: 'json', content: { b: 2, a: [1, 'é'] } });
  });

  it('treats +json media types as JSON', () => {
    expect(captureBody('{"type":"about:blank"}', { maxBytes: 100, contentType: 'application/problem+json' })?.encoding).toBe('json');
  });

  it('keeps a parsed value as JSON, its digest over the canonical form', () => {
    const c = captureBody({ b: 1, a: 2 }, { maxBytes: 100 });
    expect(c).toEqual({ size: 13, digest: digestOf('{"a":2,"b":1}'), truncated: false, encoding: 'json', content: { b: 1, a: 2 } });
  });

  it('keeps no content of a truncated JSON body (members could not be redacted), but size and digest of all of it', () => {
    const raw = JSON.stringify({ password: 'x', pad: 'y'.repeat(200) });
    expect(captureBody(raw, { maxBytes: 50, contentType: 'application/json' })).toEqual({ size: raw.length, digest: digestOf(raw), truncated: true, encoding: 'utf8', content: '' });
    expect(captureBody({ pad: 'y'.repeat(200) }, { maxBytes: 50 })).toMatchObject({ truncated: true, encoding: 'utf8', content: '' });
  });

  it('falls back to text when a body labelled JSON does not parse', () => {
    expect(captureBody('{not json', { maxBytes: 100, contentType: 'application/json' })).toMatchObject({ encoding: 'utf8', content: '{not json', truncated: false });
  });

  it('cuts text at a character boundary, never inside a UTF-8 sequence', () => {
    const text = 'ab€cd'; // € is 3 bytes: a b [e2 82 ac] c d
    for (const [max, kept] of [[2, 'ab'], [3, 'ab'], [4, 'ab'], [5, 'ab€'], [7, 'ab€cd']] as const) {
      const c = captureBody(text, { maxBytes: max, contentType: 'text/plain' });
      expect(c?.content).toBe(kept);
      expect(c?.truncated).toBe(max < 7);
      expect(c?.size).toBe(7);
    }
  });

  it('keeps a binary body as base64 of its first maxBytes', () => {
    const bytes = Uint8Array.from({ length: 10 }, (_, i) => i * 25);
    expect(captureBody(bytes, { maxBytes: 4, contentType: 'application/octet-stream' })).toEqual({
      size: 10,
      digest: digestOf(bytes),
      truncated: true,
      encoding: 'base64',
      content: Buffer.from(bytes.subarray(0, 4)).toString('base64'),
    });
  });

  it('maxBytes 0 keeps only size and digest', () => {
    expect(captureBody('secret text', { maxBytes: 0, contentType: 'text/plain' })).toMatchObject({ size: 11, truncated: true, content: '' });
  });

  it('returns undefined for no body', () => {
    expect(captureBody(undefined, { maxBytes: 10 })).toBeUndefined();
    expect(captureBody(null, { maxBytes: 10 })).toBeUndefined();
  });

  it('a parsed value that canonical JSON cannot hold (lone surrogate, NaN, cycle) is captured as text, and the record can still be written', async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const engine = await readyAudit({ queueDepth: 8 });
    for (const value of [{ name: 'bad \ud800 input' }, { n: Number.NaN }, cyclic]) {
      const c = captureBody(value, { maxBytes: 1000 });
      expect(c?.encoding).not.toBe('json');
      expect(() => engine.emit({ action: 'POST /x', outcome: 'success', body: { request: c! } })).not.toThrow();
    }
    await engine.flush();
    expect(await engine.read()).toHaveLength(3);
  });

  const badOptions: unknown[] = [undefined, null, 5, 'x', {}, { maxBytes: -1 }, { maxBytes: 1.5 }, { maxBytes: '10' }, { maxBytes: Number.NaN }, { maxBytes: Number.POSITIVE_INFINITY }, { maxBytes: 10, contentType: 5 }, { maxBytes: 10, contentType: null }];
  it.each(badOptions)('refuses options %o with AUDIT_INVALID_ARGUMENT', (options) => {
    const err = thrown(() => captureBody('x', options as never));
    expect(err).toBeInstanceOf(AuditError);
    expect((err as AuditError).code).toBe('AUDIT_INVALID_ARGUMENT');
  });
});
