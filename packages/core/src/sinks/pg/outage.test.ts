// PostgreSQL stopped and started again (pg_ctl) under a running engine: the replica keeps serving
// from its WAL, reports the lag (ready, degraded, audit_ship_lag_records), and catches up when
// the database returns, losing nothing. Uses a server of its own: it is stopped mid-test.
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect } from 'vitest';
import { keystore, tempDir } from '../../../test/helpers.js';
import { metricValue, recordingLogger, sleep } from '../../../test/support/engine.js';
import { freshDb, pgIt, privateServer, PG_URL, type PrivateServer } from '../../../test/support/pg.js';
import { createAudit } from '../../create-audit.js';
import { verifyPg } from '../../verify/pg.js';

let server: PrivateServer | undefined;
afterAll(async () => {
  await server?.stop();
});

describe('PostgreSQL outage', () => {
  pgIt(
    'the database stops mid-run: the engine keeps acknowledging durable records, reports the lag, and ships all of them when it is back',
    async () => {
      server = await privateServer();
      const db = await freshDb(server.url);
      const root = tempDir();
      const { keystoreDir } = await keystore(root);
      const registry = new Registry();
      const logger = recordingLogger();
      const engine = createAudit({ env: {}, registry, logger, walEnabled: true, walDir: join(root, 'wal'), keystoreDir, keyId: 'k', origin: 'test.local/outage', pgUrl: db.writerUrl, pgSchema: db.schema });
      await engine.ready();
      const acked: string[] = [];
      let load = true;
      const writer = (async () => {
        let i = 0;
        while (load) {
          const burst = [];
          for (let k = 0; k < 20; k++) burst.push(engine.emitDurable({ action: 'outage.test', outcome: 'success', attributes: { i: i++ } }));
          for (const r of await Promise.all(burst)) acked.push(r.id);
          await sleep(5);
        }
      })();
      await sleep(300);
      await server.pause();
      const atStop = acked.length;
      await sleep(800);
      // Down: still serving, durable in the WAL, ready but degraded, the lag growing.
      expect(acked.length).toBeGreaterThan(atStop + 100);
      const h = engine.health();
      expect(h.ready).toBe(true);
      expect(h.status).toBe('degraded');
      const reason = h.reasons.find((r) => r.code === 'AUDIT_PG_UNAVAILABLE');
      expect(reason?.message).toMatch(/records wait in the WAL/);
      const lagDown = await metricValue(registry, 'audit_ship_lag_records');
      expect(lagDown).toBeGreaterThan(100);
      expect(await metricValue(registry, 'audit_degraded', { sink: 'pg' })).toBe(1);

      await server.resume();
      const deadline = Date.now() + 15_000;
      while ((await metricValue(registry, 'audit_ship_lag_records')) > 0 || engine.health().status !== 'ready') {
        if (Date.now() > deadline) throw new Error(`no catch-up: ${JSON.stringify(engine.health())}`);
        await sleep(50);
      }
      load = false;
      await writer;
      await engine.close();
      const rows = await db.query<{ id: string }>(`SELECT convert_from(bytes, 'UTF8')::jsonb->>'id' AS id FROM ${db.schema}.records`);
      const stored = new Set(rows.map((r) => r.id));
      const missing = acked.filter((id) => !stored.has(id));
      expect(missing).toEqual([]);
      expect(stored.size).toBe(acked.length);
      const report = await verifyPg({ url: db.ownerUrl, schema: db.schema, keys: [engine.verifierKey()] });
      expect(report.ok).toBe(true);
      expect(report.logs[0]?.status).toBe('sealed');
      expect(report.logs[0]?.size).toBe(acked.length);
      const text = logger.lines.map((l) => l.msg).join('\n');
      expect(text).toMatch(/audit\.degraded=pg reason=AUDIT_PG_UNAVAILABLE/);
      expect(text).toMatch(/shipping resumed/);
      expect(PG_URL).not.toBe(server.url);
    },
    40_000,
  );
});
