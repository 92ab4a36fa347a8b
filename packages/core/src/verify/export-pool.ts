import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BundleVerdict, BundleWindow } from './bundle-check.js';
import type { BundleJob } from './export-worker.js';
import here from './here.cjs';

/**
 * The export verifier's bundle workers (docs/performance.md "Verifier"): full entry bundles are
 * handed out round-robin, each worker checks its bundles in order (bundle-check.ts), and the main
 * thread consumes the verdicts in bundle order. Loaded only when workers are used, so the verifier
 * itself needs nothing from Node beyond its file reads.
 *
 * The pool never decides a verdict: a worker that is missing, fails to start or dies answers null
 * for every bundle it held, and the verifier checks those sequentially.
 */

/** Workers by default: one per core, at most 4 (the main thread's share is small: reads and the tree above the bundles); none on one core. */
export function defaultWorkers(): number {
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(cores, 4);
}

/**
 * The built worker: next to this module in the build. From the sources (tests), vitest.config.ts
 * points `./here.cjs` into the built dist/esm (test/lane-here.ts), so it is the sibling verify/
 * folder of that; a source checkout that was built has it under dist/esm/verify.
 */
function workerFile(): string | null {
  const dir = dirname(here);
  for (const f of [join(dir, 'export-worker.js'), join(dir, '..', 'verify', 'export-worker.js'), join(dir, '..', '..', 'dist', 'esm', 'verify', 'export-worker.js')]) {
    if (existsSync(f)) return f;
  }
  return null;
}

type Resolve = (v: BundleVerdict | null) => void;

class Lane {
  readonly pending = new Map<number, Resolve>();
  dead = false;

  constructor(readonly worker: Worker) {
    worker.on('message', (m: { id: number; verdict: BundleVerdict | null }) => {
      const r = this.pending.get(m.id);
      this.pending.delete(m.id);
      r?.(m.verdict);
    });
    const fail = (): void => {
      this.dead = true;
      for (const r of this.pending.values()) r(null);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
  }
}

export class BundlePool {
  private next = 0;
  private id = 0;

  private constructor(private readonly lanes: Lane[]) {}

  get size(): number {
    return this.lanes.length;
  }

  /** Start `n` workers; null when the worker file is not there (an unbuilt source checkout). */
  static open(n: number, window: BundleWindow, tiles: boolean): BundlePool | null {
    const file = workerFile();
    if (file === null || n < 1) return null;
    const lanes: Lane[] = [];
    for (let i = 0; i < n; i++) lanes.push(new Lane(new Worker(file, { workerData: { window, tiles }, name: `ron-audit verify ${i}` })));
    return new BundlePool(lanes);
  }

  /** The verdict on the full bundle `bytes` (records start…start+255), or null: check it sequentially. */
  run(bytes: Uint8Array, start: number): Promise<BundleVerdict | null> {
    const lane = this.lanes[this.next++ % this.lanes.length]!;
    if (lane.dead) return Promise.resolve(null);
    return new Promise((resolve) => {
      const job: BundleJob = { id: this.id++, start, bytes };
      lane.pending.set(job.id, resolve);
      try {
        lane.worker.postMessage(job);
      } catch {
        lane.pending.delete(job.id);
        resolve(null);
      }
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
  }
}
