// The bundle check a worker runs: it passes a plainly good full bundle with the facts the main
// thread joins to the log (record 0's prev, the last link, the leaf tile, the subtree root), and
// answers null — "check it on the main thread" — for anything else. And the pool really runs it
// in worker threads (the built worker), not silently on nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBundle } from '../log/tiles.js';
import { nextLink } from '../log/chain.js';
import { toHex } from '../prim/hex.js';
import { installBackends } from '../backends.js';
import { BundleChecker } from './bundle-check.js';
import { BundlePool } from './export-pool.js';
import { sha256Latin1For, TileWalker, leafOf } from './tree-walk.js';
import { announceEvent, buildRecords, seed } from '../../test/support/export-log.js';

const NO_WINDOW = { hasWindow: false, since: -Infinity, until: Infinity };
let records: Uint8Array[];
let bundle1: Uint8Array;

beforeAll(async () => {
  await installBackends('auto');
  records = buildRecords(600);
  bundle1 = encodeBundle(records.slice(256, 512));
});

describe('BundleChecker', () => {
  it('passes a good bundle with its prev, last link, leaf tile and subtree root', () => {
    const v = new BundleChecker(NO_WINDOW, true).check(bundle1, 256)!;
    expect(v).not.toBeNull();
    expect(new TextDecoder().decode(v.firstPrev)).toBe(toHex(nextLink(records[255]!)));
    expect(new TextDecoder().decode(v.lastPrev)).toBe(toHex(nextLink(records[511]!)));
    const sha = sha256Latin1For();
    const w = new TileWalker(true, sha);
    // leafOf reads the byte before the entry (its length prefix), as in a bundle.
    for (const r of records.slice(256, 512)) w.append(leafOf(encodeBundle([r]).subarray(2), sha));
    expect(v.root).toEqual(w.root());
    expect(v.tile).toEqual(w.buffers[0]);
    expect(v.inRange).toBe(256);
    expect(new BundleChecker(NO_WINDOW, false).check(bundle1, 256)!.tile).toBeNull();
  });

  it('counts the records of a time window', () => {
    const t = (i: number): number => Date.parse(JSON.parse(new TextDecoder().decode(records[i])).time as string);
    const v = new BundleChecker({ hasWindow: true, since: t(300), until: t(309) }, false).check(bundle1, 256)!;
    expect(v.inRange).toBe(records.slice(256, 512).filter((_, i) => t(256 + i) >= t(300) && t(256 + i) <= t(309)).length);
  });

  it('leaves to the main thread: a record at the wrong position, a broken link inside, a key record, a short or long bundle, bytes that are not a bundle', () => {
    const c = new BundleChecker(NO_WINDOW, true);
    expect(c.check(bundle1, 0)).toBeNull(); // seq 256 at position 0
    const swapped = records.slice(256, 512);
    [swapped[10], swapped[11]] = [swapped[11]!, swapped[10]!];
    expect(c.check(encodeBundle(swapped), 256)).toBeNull();
    expect(c.check(encodeBundle(records.slice(256, 511)), 256)).toBeNull();
    expect(c.check(encodeBundle(records.slice(256, 513)), 256)).toBeNull();
    expect(c.check(bundle1.subarray(0, bundle1.length - 1), 256)).toBeNull();
    const withKey = buildRecords(512, { custom: (i) => (i === 300 ? announceEvent(seed(1), seed(2)) : undefined) });
    expect(c.check(encodeBundle(withKey.slice(256, 512)), 256)).toBeNull();
    // The same checker goes on passing good bundles after refusing bad ones.
    expect(c.check(bundle1, 256)).not.toBeNull();
  });
});

describe('BundlePool', () => {
  let pool: BundlePool | null;
  beforeAll(() => {
    pool = BundlePool.open(2, NO_WINDOW, true);
  });
  afterAll(async () => pool?.close());

  it('runs the check in worker threads and gives the in-thread verdict', async () => {
    expect(pool).not.toBeNull();
    const local = new BundleChecker(NO_WINDOW, true).check(bundle1, 256);
    const [a, b, bad] = await Promise.all([pool!.run(bundle1, 256), pool!.run(encodeBundle(records.slice(0, 256)), 0), pool!.run(bundle1, 0)]);
    expect(a).toEqual(local);
    expect(b).not.toBeNull();
    expect(bad).toBeNull();
  });

  it('answers null for every bundle once its workers are gone', async () => {
    const p = BundlePool.open(1, NO_WINDOW, true)!;
    await p.close();
    expect(await p.run(bundle1, 256)).toBeNull();
  });
});
