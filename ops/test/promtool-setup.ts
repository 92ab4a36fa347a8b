// Vitest globalSetup of the ops project: the promtool the alert tests run (scripts/ensure-promtool.sh
// finds one or fetches it into .ci/bin). Its path is provided to the tests; when none can be had,
// '' is provided and the alert tests fail with the reason (never skip: an untested alert file is
// worse than a red build).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of promtool, or '' when none could be found or fetched. */
    promtool: string;
    /** Why there is no promtool ('' when there is one). */
    promtoolError: string;
  }
}

const SCRIPT = fileURLToPath(new URL('../../scripts/ensure-promtool.sh', import.meta.url));

export default function setup(project: TestProject): void {
  const r = spawnSync('bash', [SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.stderr) process.stderr.write(r.stderr);
  const path = r.status === 0 ? r.stdout.trim().split('\n').pop() ?? '' : '';
  project.provide('promtool', path);
  project.provide('promtoolError', path ? '' : (r.stderr ?? '').trim() || `scripts/ensure-promtool.sh exited ${r.status}`);
}
