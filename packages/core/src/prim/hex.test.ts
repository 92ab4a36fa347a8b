import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from './hex.js';

describe('hex', () => {
  it('round-trips every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromHex(toHex(all))).toEqual(all);
  });
  it('rejects odd length, uppercase and non-hex input', () => {
    for (const bad of ['a', 'AB', 'zz', ' 00', 1 as unknown as string]) expect(fromHex(bad)).toBeNull();
  });
});
