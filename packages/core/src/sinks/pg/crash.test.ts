// A replica SIGKILLed mid-shipping and restarted, several times: every record it acknowledged as
// durable reaches PostgreSQL, shipping resumes from the database's high-water mark, and the log
// verifies. The child runs the built package (test/fixtures/pg-child.mjs).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { describe, expect } from 'vitest';
import { keystore, tempDir } from '../../../test/helpers.js';
import { metricValue, sleep } from '../../../test/support/engine.js';
import { freshDb, pgIt } from '../../../test/support/pg.js';
import { createAudit } from '../../create-audit.js';
import { verifyPg } from '../../verify/pg.js';

const CHILD = fileURLToPath(new URL('../../../test/fixtures/pg-child.mjs', import.meta.url));
const EXIT_CHILD = fileURLToPath(new URL('../../../test/fixtures/pg-exit.mjs', import.meta.url));

function runToExit(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [EXIT_CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, out });
    });
  });
}

function runAndKill(args: string[], killAfterMs: number): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Map<string, number>();
    let buf = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const [kind, a, b] = buf.slice(0, nl).split(' ');
        buf = buf.slice(nl + 1);
        if (kind === 'ready') setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        else if (kind === 'ack') acked.set(a!, Number(b));
      }
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`child exited ${code} ${signal}: ${stderr}`));
      else resolve(acked);
    });
  });
}

describe('PostgreSQL shipping across crashes', () => {
  pgIt('a replica killed mid-shipping (SIGKILL) and restarted loses no acknowledged record, and the log verifies', async () => {
    const db = await freshDb();
    const root = tempDir();
    const { keystoreDir } = await keystore(root);
    const walDir = join(root, 'wal');
    const acked = new Map<string, number>();
    for (const killAfter of [150, 400, 250]) {
      for (const [id, seq] of await runAndKill([walDir, keystoreDir, db.writerUrl, db.schema], killAfter)) acked.set(id, seq);
    }
    expect(acked.size).toBeGreaterThan(100);
    // The last start is in-process and ends with a graceful close: catch-up, then the seal.
    const registry = new Registry();
    const engine = createAudit({ env: {}, registry, walEnabled: true, walDir, keystoreDir, keyId: 'k', origin: 'test.local/pg-crash', pgUrl: db.writerUrl, pgSchema: db.schema });
    await engine.ready();
    const size = engine.health().log.size;
    while ((await metricValue(registry, 'audit_ship_lag_records')) > 0) await sleep(20);
    await engine.close();
    const rows = await db.query<{ id: string; seq: string }>(`SELECT convert_from(bytes, 'UTF8')::jsonb->>'id' AS id, seq FROM ${db.schema}.records`);
    const stored = new Map(rows.map((r) => [r.id, Number(r.seq)]));
    for (const [id, seq] of acked) expect(stored.get(id), `acked ${id} at ${seq}`).toBe(seq);
    expect(stored.size).toBe(size);
    const report = await verifyPg({ url: db.ownerUrl, schema: db.schema, keys: [engine.verifierKey()] });
    expect(report.failure).toBeNull();
    expect(report.logs.map((l) => [l.status, l.size])).toEqual([['sealed', size]]);
  }, 45_000);

  pgIt('a host is not cut off in the middle of close() (regression: the idle connection was unref-ed, so node exited during its goodbye), and a host that never closes still exits', async () => {
    const db = await freshDb();
    const root = tempDir();
    const { keystoreDir } = await keystore(root);
    const closing = await runToExit(['close', join(root, 'wal-a'), keystoreDir, db.writerUrl, db.schema]);
    expect(closing.out).toContain('closed sealed');
    expect(closing.code).toBe(0);
    const leaving = await runToExit(['no-close', join(root, 'wal-b'), keystoreDir, db.writerUrl, db.schema]);
    expect(leaving.out).toContain('returning without close');
    expect(leaving.code).toBe(0);
  }, 30_000);
});
