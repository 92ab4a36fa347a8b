import { blake3 } from '@noble/hashes/blake3.js';
import { describe, expect, it } from 'vitest';
import { createFastBackend } from './hash-fast.js';
import { pureBackend, type HashBackend } from './hash.js';

describe('blake3Stream', () => {
  const backends: [string, () => Promise<HashBackend>][] = [
    ['pure', async () => pureBackend],
    ['fast', () => createFastBackend()],
  ];
  it.each(backends)('%s: interleaved streams each equal plain BLAKE3 of their concatenation, one-shot calls in between', async (_name, make) => {
    const b = await make();
    const bodies = [0, 1, 1023, 1024, 1025, 70_000, 300_000].map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * (k + 3)) % 251));
    const streams = bodies.map(() => b.blake3Stream());
    const offsets = bodies.map(() => 0);
    for (let round = 0; offsets.some((o, i) => o < bodies[i]!.length); round++) {
      bodies.forEach((body, i) => {
        const n = 1 + ((round * 7919 + i * 104729) % 40_000);
        streams[i]!.update(body.subarray(offsets[i]!, offsets[i]! + n));
        offsets[i] = Math.min(body.length, offsets[i]! + n);
        b.blake3(body.subarray(0, 10)); // one-shot use of the shared hasher between stream steps
      });
    }
    streams.forEach((s, i) => expect(Buffer.from(s.digest()).toString('hex')).toBe(Buffer.from(blake3(bodies[i]!)).toString('hex')));
  });

  it('fast: a stream digests once', async () => {
    const s = (await createFastBackend()).blake3Stream();
    s.update(new Uint8Array(3));
    s.digest();
    expect(() => s.digest()).toThrow(/already/);
  });
});
