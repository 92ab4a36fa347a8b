// TileWalker.appendSubtree (a whole aligned bundle from a worker's verdict) must leave the walker
// exactly as 256 append() calls would: the same root, the same tiles completed in the same order,
// the same partial tiles at every level afterwards.
import { describe, expect, it } from 'vitest';
import { pureBackend, setHashBackend } from '../prim/hash.js';
import { sha256Latin1For, TileWalker } from './tree-walk.js';

function leaves(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let s = '';
    for (let j = 0; j < 32; j++) s += String.fromCharCode((i * 31 + j * 7 + (i >> 8)) & 0xff);
    out.push(s);
  }
  return out;
}

/** The root and level-0 tile of one bundle, as a worker computes them. */
function bundleOf(ls: readonly string[], sha: ReturnType<typeof sha256Latin1For>): { root: Uint8Array; tile: Uint8Array } {
  const w = new TileWalker(true, sha);
  for (const l of ls) w.append(l);
  return { root: w.root(), tile: w.buffers[0]!.slice() };
}

describe('TileWalker.appendSubtree', () => {
  setHashBackend(pureBackend);
  const sha = sha256Latin1For();
  const all = leaves(256 * 70 + 37);

  for (const keep of [true, false]) {
    it(`gives the state of 256 appends, bundle after bundle (keep ${keep})`, () => {
      const one = new TileWalker(keep, sha);
      const bulk = new TileWalker(keep, sha);
      for (let b = 0; b < 70; b++) {
        const ls = all.slice(b * 256, b * 256 + 256);
        for (const l of ls) one.append(l);
        const { root, tile } = bundleOf(ls, sha);
        bulk.appendSubtree(root, keep ? tile : null);
        expect(bulk.size).toBe(one.size);
        expect(bulk.root(), `after bundle ${b}`).toEqual(one.root());
        expect(bulk.completed.map((t) => [t.level, t.n, Buffer.from(t.bytes).toString('hex')])).toEqual(one.completed.map((t) => [t.level, t.n, Buffer.from(t.bytes).toString('hex')]));
        one.completed = [];
        bulk.completed = [];
      }
      // Leaves one at a time after the bundles: both go on identically (the partial tiles too).
      for (const l of all.slice(70 * 256)) {
        one.append(l);
        bulk.append(l);
      }
      expect(bulk.root()).toEqual(one.root());
      expect(bulk.counts).toEqual(one.counts);
      expect(bulk.buffers.map((x) => Buffer.from(x).toString('hex'))).toEqual(one.buffers.map((x) => Buffer.from(x).toString('hex')));
    });
  }

  it('refuses a bundle that is not aligned, a root that is not 32 bytes, and a missing tile', () => {
    const w = new TileWalker(true, sha);
    const { root, tile } = bundleOf(all.slice(0, 256), sha);
    expect(() => w.appendSubtree(root.subarray(0, 31), tile)).toThrow(RangeError);
    expect(() => w.appendSubtree(root, null)).toThrow(RangeError);
    expect(() => w.appendSubtree(root, tile.subarray(0, 32))).toThrow(RangeError);
    w.append(all[0]!);
    expect(() => w.appendSubtree(root, tile)).toThrow(RangeError);
    expect(w.size).toBe(1);
  });
});
