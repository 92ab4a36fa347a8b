import { nodeFileOps, withFaults, type FileOps } from '@ron-audit/core';

/** A mutable fault plan for tests, over the core's fault seam (withFaults): change it while the engine runs. */
export interface FaultPlan {
  /** Added to every fsync/fdatasync, in ms. */
  fsyncDelayMs?: number;
  /** When set ('ENOSPC', 'EIO'), writes fail with this errno code. */
  writeError?: string | undefined;
}

export function faultyFileOps(plan: FaultPlan): FileOps {
  return withFaults(nodeFileOps, { fsyncDelayMs: () => plan.fsyncDelayMs ?? 0, writeError: () => plan.writeError });
}
