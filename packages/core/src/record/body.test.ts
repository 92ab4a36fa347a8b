import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, readyAudit, thrown } from '../../test/support/engine.js';
import { AuditError } from '../errors.js';
import { captureBody, MAX_BODY_DEPTH } from './body.js';

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

  it('a body labelled JSON that does not parse keeps no content (it could not be redacted member by member), only size, digest and why', () => {
    expect(captureBody('{not json', { maxBytes: 100, contentType: 'application/json' })).toMatchObject({
      size: 9,
      digest: digestOf('{not json'),
      encoding: 'utf8',
      content: '',
      truncated: false,
      omitted: expect.stringMatching(/^not valid JSON/),
    });
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

  it('a parsed value that canonical JSON cannot hold (lone surrogate, NaN, cycle) is refused with AUDIT_NOT_CANONICAL, never digested as the text of an object', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    for (const value of [{ name: 'bad \ud800 input' }, { n: Number.NaN }, cyclic]) {
      const err = thrown(() => captureBody(value, { maxBytes: 1000 }));
      expect(err).toBeInstanceOf(AuditError);
      expect((err as AuditError).code).toBe('AUDIT_NOT_CANONICAL');
    }
  });

  // Issue 13 item 4: JSON that parses but cannot sit in a record kept the 17 bytes of "[object Object]".
  const unkeepable: [string, string, RegExp][] = [
    ['lone surrogate', '{"name":"\\ud800"}', /lone surrogate/],
    ['1e400', '{"n":1e400}', /double range/],
    ['10,000-deep nesting', '['.repeat(10_000) + ']'.repeat(10_000), /nesting deeper than 56/],
    ['__proto__ member', '{"__proto__":{"admin":true},"a":1}', /__proto__/],
    ['invalid UTF-8', '{"a":"\xff"}', /UTF-8/],
  ];
  it.each(unkeepable)('a JSON body with a %s is recorded by the digest of its bytes as received and why, never as "[object Object]"', async (_name, text, why) => {
    const bytes = _name === 'invalid UTF-8' ? Uint8Array.from([...utf8.encode('{"a":"'), 0xff, ...utf8.encode('"}')]) : utf8.encode(text);
    const c = captureBody(bytes, { maxBytes: 1_000_000, contentType: 'application/json' });
    expect(c).toMatchObject({ size: bytes.length, digest: digestOf(bytes), truncated: false, encoding: 'utf8', content: '' });
    expect(c?.omitted).toMatch(why);
    const engine = await readyAudit({ queueDepth: 8 });
    expect(() => engine.emit({ action: 'POST /x', outcome: 'success', body: { request: c! } })).not.toThrow();
    await engine.flush();
    const [r] = await engine.read();
    expect((r!.record as { body: { request: unknown } }).body.request).toEqual({ size: bytes.length, digest: digestOf(bytes), truncated: false, encoding: 'utf8', content: '' });
  });

  it('JSON nested exactly MAX_BODY_DEPTH deep is kept as content and the record can be written', async () => {
    const text = '['.repeat(MAX_BODY_DEPTH) + ']'.repeat(MAX_BODY_DEPTH);
    const c = captureBody(text, { maxBytes: 1000, contentType: 'application/json' });
    expect(c?.encoding).toBe('json');
    const engine = await readyAudit({ queueDepth: 8 });
    engine.emit({ action: 'POST /x', outcome: 'success', body: { request: c! } });
    await engine.flush();
    expect(await engine.read()).toHaveLength(1);
    expect(captureBody('[' + text + ']', { maxBytes: 1000, contentType: 'application/json' })?.omitted).toMatch(/nesting/);
  });

  it('a form body with a field named __proto__ keeps no content (it would be lost as a prototype)', () => {
    expect(captureBody('__proto__=x&a=1', { maxBytes: 100, contentType: 'application/x-www-form-urlencoded' })).toMatchObject({ encoding: 'utf8', content: '', omitted: expect.stringMatching(/__proto__/) });
  });

  it('text that is not UTF-8 keeps its exact bytes (base64), not a re-encoding with U+FFFD', () => {
    const bytes = Uint8Array.from([0x61, 0xff, 0x62]);
    expect(captureBody(bytes, { maxBytes: 100, contentType: 'text/plain' })).toEqual({ size: 3, digest: digestOf(bytes), truncated: false, encoding: 'base64', content: Buffer.from(bytes).toString('base64') });
  });

  const badOptions: unknown[] = [undefined, null, 5, 'x', {}, { maxBytes: -1 }, { maxBytes: 1.5 }, { maxBytes: '10' }, { maxBytes: Number.NaN }, { maxBytes: Number.POSITIVE_INFINITY }, { maxBytes: 10, contentType: 5 }, { maxBytes: 10, contentType: null }];
  it.each(badOptions)('refuses options %o with AUDIT_INVALID_ARGUMENT', (options) => {
    const err = thrown(() => captureBody('x', options as never));
    expect(err).toBeInstanceOf(AuditError);
    expect((err as AuditError).code).toBe('AUDIT_INVALID_ARGUMENT');
  });
});
