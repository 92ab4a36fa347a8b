// PostgreSQL for tests: the run's shared server (test/pg-global-setup.ts), a fresh schema and
// writer role per test file so files can run in parallel, and private servers for the tests that
// stop and start the database. Real servers throughout; nothing here is a mock.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { inject, it } from 'vitest';
import { connectPg } from '../../src/sinks/pg/driver.js';
import { migratePg } from '../../src/sinks/pg/migrate.js';
import { PG_SCRIPT } from '../pg-global-setup.js';

const run = promisify(execFile);

/** The run's PostgreSQL owner URL; '' only with RON_AUDIT_PG_OPTIONAL=1 and no server. */
export const PG_URL = inject('pgUrl');

/** `it`, skipped (visibly) only when RON_AUDIT_PG_OPTIONAL=1 and no PostgreSQL is available. */
export const pgIt = PG_URL ? it : it.skip;

/** The same URL with another user (trust authentication on the test server). */
export function asUser(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = '';
  return u.toString();
}

export interface TestDb {
  readonly ownerUrl: string;
  /** Connects as the schema's writer role: INSERT and SELECT only. */
  readonly writerUrl: string;
  readonly schema: string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

let n = 0;

/** A new schema with its own writer and reader roles, migrated. */
export async function freshDb(ownerUrl: string = PG_URL, prefix = 't'): Promise<TestDb> {
  const schema = `${prefix}_${process.pid}_${Date.now().toString(36)}_${n++}`;
  await migratePg({ url: ownerUrl, schema, writerRole: `${schema}_w`, readerRole: `${schema}_r` });
  return {
    ownerUrl,
    writerUrl: asUser(ownerUrl, `${schema}_w`),
    schema,
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      const c = await connectPg(ownerUrl);
      try {
        return (await c.query(sql, params)).rows as T[];
      } finally {
        await c.end();
      }
    },
  };
}

export interface PrivateServer {
  readonly url: string;
  readonly dir: string;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** A server of its own, for a test that stops and starts the database under a running engine. */
export async function privateServer(): Promise<PrivateServer> {
  // The watcher stops the server if this worker dies before the test's stop().
  const { stdout } = await run('bash', [PG_SCRIPT, 'start'], { encoding: 'utf8', env: { ...process.env, RON_AUDIT_PG_WATCH_PID: String(process.pid) } });
  const url = /^RON_AUDIT_PG_URL=(.+)$/m.exec(stdout)?.[1];
  const dir = /^RON_AUDIT_PG_DIR=(.+)$/m.exec(stdout)?.[1];
  if (!url || !dir) throw new Error(`pg-test-server.sh start printed no URL: ${stdout}`);
  return {
    url,
    dir,
    pause: async () => void (await run('bash', [PG_SCRIPT, 'pause', dir])),
    resume: async () => void (await run('bash', [PG_SCRIPT, 'resume', dir])),
    stop: async () => void (await run('bash', [PG_SCRIPT, 'stop', dir])),
  };
}
