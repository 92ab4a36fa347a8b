import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { keystore, tempDir } from '../test/helpers.js';
import { createAudit } from './create-audit.js';
import { nodeFileOps, withFaults } from './sinks/fs.js';
import { verifyLog } from './verify/verify.js';

function recordingLogger() {
  const lines: { level: string; obj: object; msg?: string | undefined }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('a failing disk under the WAL', () => {
  for (const errno of ['ENOSPC', 'EIO', 'EROFS']) {
    it(`${errno}: degrades to amnesia without crashing the host, says so, and keeps chaining and signing`, async () => {
      const root = tempDir();
      const keys = await keystore(root);
      let failing = false;
      const registry = new Registry();
      const { lines, logger } = recordingLogger();
      const opts = { ...keys, walEnabled: true, walDir: join(root, 'wal'), origin: 'test.local/disk', env: {}, registry, logger };
      const audit = createAudit({ ...opts, fileOps: withFaults(nodeFileOps, { writeError: () => (failing ? errno : undefined) }) });
      await audit.ready();
      const before = await Promise.all(Array.from({ length: 40 }, (_, i) => audit.emitDurable({ action: 'before', outcome: 'success', attributes: { i } })));
      expect(before.every((r) => r.durable)).toBe(true);

      failing = true;
      const during = await audit.emitDurable({ action: 'during', outcome: 'success' }).catch((e: unknown) => e);
      expect(during).toMatchObject({ code: 'AUDIT_NOT_DURABLE' });
      for (let i = 0; i < 30; i++) audit.emit({ action: 'after', outcome: 'success', attributes: { i } });
      await audit.flush();

      const h = audit.health();
      expect(h.ready).toBe(true);
      expect(h.status).toBe('degraded');
      expect(h.sinks.wal).toBe('degraded');
      expect(h.reasons.map((r) => r.code)).toContain('AUDIT_WAL_FAILED');
      expect(h.reasons[0]?.message).toContain(errno);
      expect(h.log.size).toBe(71);
      expect(h.log.checkpointSize).toBe(71);
      const text = await registry.metrics();
      expect(text).toMatch(/audit_degraded\{sink="wal"\} 1/);
      expect(lines.filter((l) => l.level === 'error' && /audit\.degraded=wal/.test(l.msg ?? ''))).toHaveLength(1);
      const s = audit.snapshot();
      expect(verifyLog({ origin: s.origin, records: s.records, checkpoint: s.checkpoint!, keys: [s.verifierKey] }).ok).toBe(true);
      await audit.close();

      // Space is back: a restart recovers the durable prefix (what was acked as durable) and verifies.
      const again = createAudit({ ...opts, registry: new Registry(), logger: undefined });
      await again.ready();
      expect(again.health().log.size).toBe(40);
      const s2 = again.snapshot();
      expect(verifyLog({ origin: s2.origin, records: s2.records, checkpoint: s2.checkpoint!, keys: [s2.verifierKey] }).ok).toBe(true);
      await again.close();
    });
  }

  it('adds injected fsync latency to wal_fsync_seconds (the drill seam)', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    const registry = new Registry();
    const audit = createAudit({ ...keys, walEnabled: true, walDir: join(root, 'wal'), origin: 'test.local/slow', env: {}, registry, fileOps: withFaults(nodeFileOps, { fsyncDelayMs: 15 }) });
    await audit.ready();
    await Promise.all(Array.from({ length: 5 }, () => audit.emitDurable({ action: 'slow', outcome: 'success' })));
    const hist = (await registry.getSingleMetric('wal_fsync_seconds')!.get()).values;
    const sum = hist.find((v) => v.metricName === 'wal_fsync_seconds_sum')!.value;
    const count = hist.find((v) => v.metricName === 'wal_fsync_seconds_count')!.value;
    expect(count).toBeGreaterThan(0);
    expect(sum / count).toBeGreaterThanOrEqual(0.014);
    await audit.close();
  });
});
