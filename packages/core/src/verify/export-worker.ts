import { parentPort, workerData } from 'node:worker_threads';
import { installBackends } from '../backends.js';
import { BundleChecker, type BundleWindow } from './bundle-check.js';

/**
 * A bundle worker of the export verifier (export-pool.ts): checks the full entry bundles it is
 * sent, one at a time in the order they arrive, and answers each with its verdict (or null).
 * It holds no trust state and reads no file: the main thread does both, in bundle order.
 */

export interface BundleJob {
  readonly id: number;
  readonly start: number;
  readonly bytes: Uint8Array;
}

const { window, tiles } = workerData as { window: BundleWindow; tiles: boolean };
const port = parentPort!;
// The same backends the main thread installed with crypto 'auto' (the same bytes either way).
const ready = installBackends('auto').then(() => new BundleChecker(window, tiles));

port.on('message', (job: BundleJob) => {
  void ready.then((checker) => {
    let verdict: ReturnType<BundleChecker['check']>;
    try {
      verdict = checker.check(job.bytes, job.start);
    } catch {
      verdict = null; // the sequential pass checks it again, and reports what it finds
    }
    const transfer = verdict === null ? [] : [verdict.firstPrev.buffer, verdict.lastPrev.buffer, verdict.root.buffer, ...(verdict.tile === null ? [] : [verdict.tile.buffer])];
    port.postMessage({ id: job.id, verdict }, transfer as ArrayBuffer[]);
  });
});
