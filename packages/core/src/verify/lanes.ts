import { invalidArgument } from '../errors.js';
import type { LaneClaim } from '../log/checkpoint.js';
import type { FileOps } from '../sinks/fs.js';
import { defaultFileOps, join, readOptional } from '../sinks/export/reader.js';
import { verifyExport, type ExportVerifyOptions, type ExportVerifyReport } from './export.js';

/**
 * A laned log set as a set (docs/format.md §1 "Lane sets", §5 `lane`): each lane verifies on its
 * own (verifyExport), and then the lanes must be exactly the set their signed checkpoints name —
 * none missing, none extra, each in the folder of its own index, all of one set. Without this a
 * deleted lane-1/ or a swapped pair of folders verifies, because each lane is a complete log.
 */

export const LANE_SET_FAILURE_REASONS = ['lane_missing', 'lane_extra', 'lane_misplaced', 'lane_set_mismatch'] as const;
export type LaneSetFailureReason = (typeof LANE_SET_FAILURE_REASONS)[number];

export interface LaneSetFailure {
  readonly reason: LaneSetFailureReason;
  readonly message: string;
  /** The lane folder at fault (`lane-<i>`). */
  readonly lane: string;
}

/** One lane folder as the set check sees it: its name and what its verified checkpoint says. */
export interface LaneEntry {
  /** The folder name, `lane-<i>`. */
  readonly name: string;
  /** The checkpoint's origin; null when the lane has no readable checkpoint. */
  readonly origin: string | null;
  /** The checkpoint's `lane` line; null when it has none (a checkpoint written before the line existed). */
  readonly lane: LaneClaim | null;
  /** The checkpoint's `time` line (ms since the epoch); null when it has none. */
  readonly time: number | null;
}

export interface LaneSetCheck {
  readonly failure: LaneSetFailure | null;
  /** The set's size: the count stated by the newest lane checkpoint; null when no checkpoint states one. */
  readonly count: number | null;
  /** The origin every lane is `<base>/lane-<i>` of; null when no lane has a readable checkpoint. */
  readonly base: string | null;
}

const LANE_DIR = /^lane-(0|[1-9][0-9]*)$/;

/** Whether a directory entry is a lane folder (`lane-<i>`, i in decimal without leading zeros). */
export function isLaneDirName(name: string): boolean {
  return LANE_DIR.test(name);
}

const indexOf = (name: string): number => Number(name.slice(5));

/**
 * The set rules of format §1, in this order: every lane folder holds the log of its own index
 * (origin `<base>/lane-<i>`, and `lane <i>/…` when the line is there: `lane_misplaced`), all of
 * one base origin (`lane_set_mismatch`); the set's size N is the count stated by the newest
 * checkpoint (by its `time`; a tie goes to the larger count), because the lane count changes
 * only at a restart, after which every checkpoint is newer than any signed before it — a lane
 * that has not signed since still states the old count; no folder has an index ≥ N
 * (`lane_extra`: a lane the set no longer continues) and every index below N has one
 * (`lane_missing`).
 */
export function checkLaneSet(entries: readonly LaneEntry[]): LaneSetCheck {
  if (!Array.isArray(entries)) throw invalidArgument('entries', 'an array of {name, origin, lane}', entries);
  entries.forEach((e: unknown, i) => {
    const o = e as Partial<LaneEntry> | null;
    const lane = o?.lane;
    const laneOk = lane === null || (typeof lane === 'object' && lane !== undefined && Number.isSafeInteger(lane.index) && Number.isSafeInteger(lane.count));
    if (o === null || typeof o !== 'object' || typeof o.name !== 'string' || (o.origin !== null && typeof o.origin !== 'string') || !laneOk || (o.time !== null && typeof o.time !== 'number')) {
      throw invalidArgument(`entries[${i}]`, '{name: string, origin: string | null, lane: {index, count} | null, time: number | null}', e);
    }
  });
  const lanes = [...entries].filter((e) => isLaneDirName(e.name)).sort((a, b) => indexOf(a.name) - indexOf(b.name));
  let base: string | null = null;
  let baseFrom = '';
  let count: number | null = null;
  let countFrom = '';
  let countTime = -Infinity;
  const fail = (reason: LaneSetFailureReason, lane: string, message: string): LaneSetCheck => ({ failure: { reason, message, lane }, count, base });
  for (const e of lanes) {
    if (e.origin === null) continue;
    const i = indexOf(e.name);
    const suffix = `/lane-${i}`;
    if (!e.origin.endsWith(suffix)) return fail('lane_misplaced', e.name, `${e.name}/ holds the log ${JSON.stringify(e.origin)}, whose origin does not end in ${JSON.stringify(suffix)}: lane folders were swapped, renamed or replaced`);
    if (e.lane !== null && e.lane.index !== i) return fail('lane_misplaced', e.name, `${e.name}/ holds a checkpoint that says "lane ${e.lane.index}/${e.lane.count}": lane folders were swapped or renamed`);
    const b = e.origin.slice(0, -suffix.length);
    if (base === null) {
      base = b;
      baseFrom = e.name;
    } else if (b !== base) {
      return fail('lane_set_mismatch', e.name, `${e.name}/ is a lane of ${JSON.stringify(b)}, ${baseFrom}/ one of ${JSON.stringify(base)}: the folder mixes lanes of two log sets`);
    }
    const t = e.time ?? -Infinity;
    if (e.lane !== null && (count === null || t > countTime || (t === countTime && e.lane.count > count))) {
      count = e.lane.count;
      countFrom = e.name;
      countTime = t;
    }
  }
  if (count !== null) {
    const n = count;
    const extra = lanes.find((e) => indexOf(e.name) >= n);
    if (extra !== undefined) return fail('lane_extra', extra.name, `${extra.name}/ is not a lane of this set: ${countFrom}'s newest signed checkpoint says the set has ${n} lane${n === 1 ? '' : 's'} (lane-0 … lane-${n - 1}); a log the set no longer continues is verified by its own folder and archived`);
    const present = new Set(lanes.map((e) => indexOf(e.name)));
    for (let i = 0; i < n; i++) {
      if (!present.has(i)) return fail('lane_missing', `lane-${i}`, `lane-${i}/ is missing: ${countFrom}'s newest signed checkpoint says the set has ${n} lanes (lane-0 … lane-${n - 1})`);
    }
  }
  return { failure: null, count, base };
}

/** The lane folders of an export directory, in lane order (also when it has a checkpoint of its own). */
export async function laneDirNames(ops: FileOps, dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await ops.readdir(dir);
  } catch {
    return [];
  }
  return names.filter(isLaneDirName).sort((a, b) => indexOf(a) - indexOf(b));
}

export interface LaneSetVerifyReport {
  readonly ok: boolean;
  /** Each lane's report, in lane order. */
  readonly lanes: readonly { readonly name: string; readonly report: ExportVerifyReport }[];
  readonly set: LaneSetCheck;
}

/**
 * Verify `<dir>/lane-<i>` for every lane folder with the same options, then the set. `ok` only
 * if every lane verifies and the set is complete. An export directory with no lane folder is an
 * argument error: it is a single log (verifyExport).
 */
export async function verifyLaneSet(opts: ExportVerifyOptions): Promise<LaneSetVerifyReport> {
  if (opts === null || typeof opts !== 'object') throw invalidArgument('options', '{dir, keys, …}', opts);
  const ops = opts.ops ?? (await defaultFileOps());
  const names = await laneDirNames(ops, opts.dir);
  if (names.length === 0) throw invalidArgument('dir', 'an export directory with lane-<i> folders', opts.dir);
  const lanes: { name: string; report: ExportVerifyReport }[] = [];
  for (const name of names) lanes.push({ name, report: await verifyExport({ ...opts, dir: join(opts.dir, name), ops }) });
  const set = checkLaneSet(lanes.map(({ name, report }) => ({ name, origin: report.origin, lane: report.lane, time: report.checkpointTime })));
  return { ok: set.failure === null && lanes.every((l) => l.report.ok), lanes, set };
}

/** Whether `dir` has a checkpoint of its own (a single log, or the log left there before lanes). */
export async function hasOwnCheckpoint(ops: FileOps, dir: string): Promise<boolean> {
  return (await readOptional(ops, join(dir, 'checkpoint'))) !== null;
}
