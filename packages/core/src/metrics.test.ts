import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { audit, cleanup, keystoreWithKey, metricValue, readyAudit, TEST_KEY } from '../test/support/engine.js';
import { createAudit } from './create-audit.js';
import { METRIC_NAMES, metricsFor } from './metrics.js';

afterEach(cleanup);

describe('metrics', () => {
  it('registers every runbook metric on the given registry, by its exact name', async () => {
    const registry = new Registry();
    const engine = audit({ registry, enabled: false });
    expect(engine.metrics.registry).toBe(registry);
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name).sort();
    expect(names).toEqual([...METRIC_NAMES].sort());
    const text = await registry.metrics();
    // The shedding series exist at 0 before the first shed, so alerts can compute rates from the start.
    expect(text).toContain('audit_drop_total{reason="audit_backpressure"} 0');
    expect(text).toContain('busy_rejections_total{endpoint="emit"} 0');
    expect(text).toContain('# TYPE wal_fsync_seconds histogram');
    expect(text).toMatch(/wal_fsync_seconds_bucket\{le="0\.008"\} 0/);
  });

  it('uses a private registry when none is given', () => {
    const a = createAudit({ env: {}, enabled: false });
    const b = createAudit({ env: {}, enabled: false });
    expect(a.metrics.registry).toBeInstanceOf(Registry);
    expect(a.metrics.registry).not.toBe(b.metrics.registry);
    void a.close();
    void b.close();
  });

  it('two engines on one registry share the metrics and never throw "already registered"', async () => {
    const registry = new Registry();
    const keystoreDir = await keystoreWithKey();
    const a = audit({ registry, keystoreDir, keyId: TEST_KEY, queueDepth: 8 });
    const b = audit({ registry, keystoreDir, keyId: TEST_KEY, queueDepth: 8 });
    await Promise.all([a.ready(), b.ready()]);
    a.emit({ action: 'a', outcome: 'success' });
    b.emit({ action: 'b', outcome: 'success' });
    b.emit({ action: 'b', outcome: 'success' });
    await Promise.all([a.flush(), b.flush()]);
    expect(await metricValue(registry, 'audit_appended_total')).toBe(3);
    expect((await registry.getMetricsAsJSON()).filter((m) => m.name === 'audit_appended_total')).toHaveLength(1);
  });

  it('an engine re-created 20 times on one registry (an app rebuilt per test) never throws', async () => {
    const registry = new Registry();
    const keystoreDir = await keystoreWithKey();
    for (let i = 0; i < 20; i++) {
      const engine = createAudit({ env: {}, registry, keystoreDir, keyId: TEST_KEY, queueDepth: 4 });
      await engine.ready();
      engine.emit({ action: 'a', outcome: 'success' });
      await engine.close();
    }
    expect(await metricValue(registry, 'audit_appended_total')).toBe(20);
    expect(await metricValue(registry, 'audit_queue_depth')).toBe(0);
  });

  it('audit_queue_depth sums the occupancy of the attached engines; a closed engine is detached', async () => {
    const registry = new Registry();
    const a = await readyAudit({ registry, queueDepth: 8 });
    const b = await readyAudit({ registry, queueDepth: 8 });
    a.reserve();
    a.reserve();
    b.reserve();
    b.emit({ action: 'x', outcome: 'success' });
    expect(await metricValue(registry, 'audit_queue_depth')).toBe(4);
    await a.close({ timeoutMs: 0 });
    expect(await metricValue(registry, 'audit_queue_depth')).toBe(2);
    await b.flush();
    expect(await metricValue(registry, 'audit_queue_depth')).toBe(1);
  });

  it('metricsFor returns the same set for the same registry', () => {
    const registry = new Registry();
    expect(metricsFor(registry)).toBe(metricsFor(registry));
  });
});
