import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from './base64.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('base64 (strict, padded, standard alphabet)', () => {
  it('matches the RFC 4648 §10 test vectors both ways', () => {
    const vectors: [string, string][] = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
    for (const [plain, b64] of vectors) {
      expect(toBase64(enc(plain))).toBe(b64);
      expect(fromBase64(b64)).toEqual(enc(plain));
    }
  });

  it('round-trips every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromBase64(toBase64(all))).toEqual(all);
  });

  it('refuses what does not re-encode identically: missing padding, non-zero pad bits, url alphabet, whitespace, non-strings', () => {
    for (const bad of ['Zg', 'Zg=', 'Zh==', 'Zm9=', 'Zm9v YmFy', 'Zm9v\n', '-_-_', 'Zg===', '====', 'Z===', 1 as unknown as string, null as unknown as string]) {
      expect(fromBase64(bad), String(bad)).toBeNull();
    }
  });

  it('encoding a non-Uint8Array is a typed error, not silently wrong output', () => {
    for (const bad of ['ab', [1, 2], null, undefined, new ArrayBuffer(2)]) {
      expect(() => toBase64(bad as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_ARGUMENT', details: { argument: 'bytes' } }));
    }
  });
});
