// Vitest globalSetup of the core project: the PostgreSQL the shipper and verifyPg tests run
// against. CI (.ci/run) starts one and exports RON_AUDIT_PG_URL; without it, a local PostgreSQL
// is started here with scripts/pg-test-server.sh and stopped after the run. Neither available:
// the run fails loudly, unless RON_AUDIT_PG_OPTIONAL=1 says to skip the PostgreSQL tests.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Owner URL of the test PostgreSQL; '' when RON_AUDIT_PG_OPTIONAL=1 and none is available. */
    pgUrl: string;
  }
}

export const PG_SCRIPT = fileURLToPath(new URL('../../../scripts/pg-test-server.sh', import.meta.url));

export function hasLocalPostgres(): boolean {
  try {
    if (readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))) return true;
  } catch {
    /* not Debian's layout */
  }
  try {
    execFileSync('sh', ['-c', 'command -v initdb'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export default function setup(project: TestProject): (() => void) | undefined {
  const given = process.env['RON_AUDIT_PG_URL'];
  if (given) {
    project.provide('pgUrl', given);
    return undefined;
  }
  if (!hasLocalPostgres()) {
    if (process.env['RON_AUDIT_PG_OPTIONAL'] === '1') {
      project.provide('pgUrl', '');
      return undefined;
    }
    throw new Error(
      'the PostgreSQL tests need a server: set RON_AUDIT_PG_URL (an owner URL of an empty database), or install PostgreSQL locally (apt-get install postgresql) so that scripts/pg-test-server.sh can start one; RON_AUDIT_PG_OPTIONAL=1 skips them instead',
    );
  }
  const out = execFileSync('bash', [PG_SCRIPT, 'start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const url = /^RON_AUDIT_PG_URL=(.+)$/m.exec(out)?.[1];
  const dir = /^RON_AUDIT_PG_DIR=(.+)$/m.exec(out)?.[1];
  if (!url || !dir) throw new Error(`scripts/pg-test-server.sh start printed no URL:\n${out}`);
  project.provide('pgUrl', url);
  return () => {
    execFileSync('bash', [PG_SCRIPT, 'stop', dir], { stdio: 'ignore' });
  };
}
