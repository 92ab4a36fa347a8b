import { nextLink } from '../log/chain.js';
import { decodeBundle, TILE_HASH_BYTES, TILE_WIDTH } from '../log/tiles.js';
import { CanonicalScanner } from './canonical-scan.js';
import { checkRecord, inWindow, isKeyRecord, timeOf } from './record-check.js';
import { hexInto, leafOf, sha256Latin1For, TileWalker } from './tree-walk.js';

/**
 * One full entry bundle (256 records) checked on its own, as the export verifier's workers do it
 * (export-pool.ts): every record through checkRecord (the same function as the sequential pass),
 * the chain inside the bundle, and the bundle's 256 leaf hashes and subtree root. What joins the
 * bundle to the rest of the log — record 0's `prev` against the link before it, the tree above
 * the bundle, the tiles, key trust — stays with the caller, in bundle order.
 *
 * A bundle that is anything but plainly good (a record that fails, a key record that changes
 * trust, a bundle that does not hold exactly 256 records) gets null: the caller checks it again
 * sequentially, which gives the one report the sequential pass gives. So the verdict never
 * depends on whether workers ran.
 */

export interface BundleVerdict {
  /** Record 0's `prev`: 64 lowercase hex ASCII bytes. */
  readonly firstPrev: Uint8Array;
  /** Hex of H(record 255), 64 ASCII bytes: the `prev` the next bundle's record 0 must carry. */
  readonly lastPrev: Uint8Array;
  /** The 256 leaf hashes (the level-0 hash tile, 8192 bytes); null unless asked for. */
  readonly tile: Uint8Array | null;
  /** Root of the bundle's perfect subtree of height 8 (32 bytes). */
  readonly root: Uint8Array;
  /** Records whose `time` is within the window. */
  readonly inRange: number;
}

export interface BundleWindow {
  /** Whether a window was given at all (without one, every verified record counts). */
  readonly hasWindow: boolean;
  readonly since: number;
  readonly until: number;
}

export class BundleChecker {
  private readonly scanner = new CanonicalScanner();
  private readonly sha256 = sha256Latin1For();
  private readonly prevHex = new Uint8Array(64);

  constructor(
    private readonly window: BundleWindow,
    private readonly tiles: boolean,
  ) {}

  /** Check the entry bundle `bytes` holding records start…start+255; null when it needs the sequential pass. */
  check(bytes: Uint8Array, start: number): BundleVerdict | null {
    const entries = decodeBundle(bytes);
    if (entries === null || entries.length !== TILE_WIDTH) return null;
    const { scanner, prevHex } = this;
    // Record 0's prev is joined to the log by the caller: take it as given here.
    if (!scanner.scan(entries[0]!)) return null;
    const p = scanner.members.prev;
    if (p === null || p.kind !== 's' || !p.plain || p.end - p.start !== 64) return null;
    prevHex.set(entries[0]!.subarray(p.start, p.end));
    const firstPrev = prevHex.slice();
    const walker = new TileWalker(true, this.sha256);
    const { hasWindow, since, until } = this.window;
    let inRange = 0;
    for (let i = 0; i < TILE_WIDTH; i++) {
      const rec = entries[i]!;
      if (checkRecord(scanner, rec, start + i, prevHex) !== null || isKeyRecord(scanner, rec)) return null;
      hexInto(prevHex, nextLink(rec));
      walker.append(leafOf(rec, this.sha256));
      if (!hasWindow || inWindow(timeOf(scanner), since, until)) inRange++;
    }
    return {
      firstPrev,
      lastPrev: prevHex.slice(),
      tile: this.tiles ? walker.buffers[0]!.slice(0, TILE_WIDTH * TILE_HASH_BYTES) : null,
      root: walker.root(),
      inRange,
    };
  }
}
