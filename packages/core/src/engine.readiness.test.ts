import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { audit, cleanup, internals, keystoreWithKey, metricValue, readyAudit, recordingLogger, rejected, sleep, tempDir, TEST_KEY, TEST_ORIGIN, thrown } from '../test/support/engine.js';
import { KEY_RETRY_MS } from './engine.js';
import { AuditError } from './errors.js';
import { generateKey } from './sign/keystore.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  await cleanup();
});

const ev = { action: 'a', outcome: 'success' as const };

describe('readiness with a key', () => {
  it('is ready within 1 s of createAudit and logs exactly one ready line', async () => {
    const keystoreDir = await keystoreWithKey('aud-2025q4');
    const logger = recordingLogger();
    const t0 = performance.now();
    const engine = audit({ keystoreDir, keyId: 'aud-2025q4', logger });
    await engine.ready();
    expect(performance.now() - t0).toBeLessThan(1000);
    const info = logger.lines.filter((l) => l.level === 'info');
    expect(info).toHaveLength(1);
    expect(info[0]?.msg).toBe('audit.ready=1 queue_depth=4096 wal=false export=false key=aud-2025q4');
    expect(info[0]?.obj).toMatchObject({ 'audit.ready': 1, queue_depth: 4096, wal: false, export: false, key: 'aud-2025q4' });
    expect(logger.lines.filter((l) => l.level !== 'info')).toEqual([]);
  });

  it('health() reports status, queue, log, profile and key', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    engine.emit(ev);
    await engine.flush();
    const h = engine.health();
    expect(h).toEqual({
      ready: true,
      status: 'ready',
      reasons: [],
      queue: { occupancy: 0, depth: 4, saturated: false },
      log: { origin: TEST_ORIGIN, size: 1, checkpointSize: 1, checkpointAgeMs: expect.any(Number) as number },
      profile: 'micronode',
      sinks: { wal: 'off', export: 'off' },
      key: TEST_KEY,
    });
    expect(h.log.checkpointAgeMs).toBeGreaterThanOrEqual(0);
    expect(h.log.checkpointAgeMs).toBeLessThan(5000);
  });

  it('shows saturation in health().queue.saturated and isSaturated()', async () => {
    const engine = await readyAudit({ queueDepth: 2 });
    expect(engine.isSaturated()).toBe(false);
    engine.reserve();
    engine.emit(ev);
    expect(engine.isSaturated()).toBe(true);
    expect(engine.health().queue).toEqual({ occupancy: 2, depth: 2, saturated: true });
    // Saturated is not unready: a probe must not take the instance out of rotation for load.
    expect(engine.health().ready).toBe(true);
  });
});

describe('readiness without a usable key', () => {
  it('a missing key: not ready with AUDIT_KEY_UNAVAILABLE, ready() rejects, emit/reserve refuse with AUDIT_NOT_READY (counted), nothing crashes', async () => {
    const keystoreDir = join(await tempDir(), 'keys');
    const logger = recordingLogger();
    const engine = audit({ keystoreDir, keyId: TEST_KEY, logger, queueDepth: 4 });
    const err = (await rejected(engine.ready())) as AuditError;
    expect(err).toBeInstanceOf(AuditError);
    expect(err.code).toBe('AUDIT_KEY_UNAVAILABLE');
    const h = engine.health();
    expect(h).toMatchObject({ ready: false, status: 'not_ready' });
    expect(h.reasons.map((r) => r.code)).toEqual(['AUDIT_KEY_UNAVAILABLE']);
    expect(h.reasons[0]?.message).toContain(`${TEST_KEY}.key`);
    expect((thrown(() => engine.emit(ev)) as AuditError).code).toBe('AUDIT_NOT_READY');
    expect((thrown(() => engine.reserve()) as AuditError).code).toBe('AUDIT_NOT_READY');
    expect(await metricValue(engine.metrics.registry, 'audit_drop_total', { reason: 'not_ready' })).toBe(2);
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([expect.stringMatching(/^audit\.ready=0 reason=AUDIT_KEY_UNAVAILABLE: /) as string]);
    await expect(engine.read()).rejects.toMatchObject({ code: 'AUDIT_NOT_READY' });
    expect(() => engine.verifierKey()).toThrow(expect.objectContaining({ code: 'AUDIT_NOT_READY' }) as Error);
    await sleep(20);
    expect(unhandled).toEqual([]);
  });

  it('a key file readable by others keeps the engine not ready with AUDIT_KEY_UNAVAILABLE', async () => {
    const keystoreDir = await keystoreWithKey();
    await chmod(join(keystoreDir, `${TEST_KEY}.key`), 0o644);
    const engine = audit({ keystoreDir, keyId: TEST_KEY });
    expect(((await rejected(engine.ready())) as AuditError).code).toBe('AUDIT_KEY_UNAVAILABLE');
    expect(engine.health().reasons[0]?.message).toContain('chmod 600');
  });

  it('a malformed key file keeps the engine not ready with AUDIT_KEY_INVALID', async () => {
    const keystoreDir = await tempDir();
    await writeFile(join(keystoreDir, `${TEST_KEY}.key`), '{"v":1,"algorithm":"ed25519","seed":"AAAA"}\n', { mode: 0o600 });
    const engine = audit({ keystoreDir, keyId: TEST_KEY });
    expect(((await rejected(engine.ready())) as AuditError).code).toBe('AUDIT_KEY_INVALID');
    expect(engine.health()).toMatchObject({ ready: false, status: 'not_ready', reasons: [{ code: 'AUDIT_KEY_INVALID' }] });
  });

  it(
    'becomes ready by itself once the key appears, and ready() then resolves',
    async () => {
      const keystoreDir = join(await tempDir(), 'keys');
      const logger = recordingLogger();
      const engine = audit({ keystoreDir, keyId: TEST_KEY, logger, queueDepth: 4 });
      await rejected(engine.ready());
      // Written elsewhere and renamed in, as an operator's tooling would, so the engine never sees half a file.
      const staging = await tempDir();
      await generateKey(staging, TEST_KEY);
      await mkdir(keystoreDir, { mode: 0o700 });
      await rename(join(staging, `${TEST_KEY}.key`), join(keystoreDir, `${TEST_KEY}.key`));
      await sleep(KEY_RETRY_MS + 500);
      expect(engine.health()).toMatchObject({ ready: true, status: 'ready', reasons: [] });
      await expect(engine.ready()).resolves.toBeUndefined();
      expect(logger.lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual([`audit.ready=1 queue_depth=4 wal=false export=false key=${TEST_KEY}`]);
      const { id } = engine.emit(ev);
      await engine.flush();
      expect((await engine.read()).map((r) => r.record['id'])).toEqual([id]);
    },
    KEY_RETRY_MS + 5000,
  );

  it('AUDIT_ENABLED=false: ready, status disabled, and every emit is refused with AUDIT_DISABLED (counted)', async () => {
    const engine = audit({ env: { AUDIT_ENABLED: 'false' } });
    await expect(engine.ready()).resolves.toBeUndefined();
    expect(engine.health()).toMatchObject({ ready: true, status: 'disabled' });
    expect((thrown(() => engine.emit(ev)) as AuditError).code).toBe('AUDIT_DISABLED');
    expect((thrown(() => engine.reserve()) as AuditError).code).toBe('AUDIT_DISABLED');
    expect(await metricValue(engine.metrics.registry, 'audit_drop_total', { reason: 'disabled' })).toBe(2);
    await engine.close();
    expect(engine.health().status).toBe('closed');
  });
});

describe('close()', () => {
  it('after close: status closed, not ready with an AUDIT_CLOSED reason, emit and reserve refused with AUDIT_CLOSED (counted)', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    await engine.close();
    expect(engine.health()).toMatchObject({ ready: false, status: 'closed', reasons: [{ code: 'AUDIT_CLOSED' }] });
    expect((thrown(() => engine.emit(ev)) as AuditError).code).toBe('AUDIT_CLOSED');
    expect((thrown(() => engine.reserve()) as AuditError).code).toBe('AUDIT_CLOSED');
    expect(await metricValue(engine.metrics.registry, 'audit_drop_total', { reason: 'closed' })).toBe(2);
    await expect(engine.close()).resolves.toBeUndefined();
  });

  it('drains: everything admitted before close, including reservations committed while it waits, is appended under the final checkpoint', async () => {
    const engine = await readyAudit({ queueDepth: 8 });
    const emitted = [engine.emit(ev).id, engine.emit(ev).id];
    const late = [engine.reserve(), engine.reserve()];
    const abandoned = engine.reserve();
    const closing = engine.close({ timeoutMs: 300 });
    expect(engine.health().status).toBe('closing');
    expect((thrown(() => engine.emit(ev)) as AuditError).code).toBe('AUDIT_CLOSED');
    await sleep(50);
    late[0]!.commit(ev);
    await sleep(20);
    late[1]!.commit(ev);
    await closing;
    abandoned.commit(ev); // too late: released by close, not recorded
    expect(engine.health().status).toBe('closed');
    expect(engine.checkpoint()?.size).toBe(4);
    const ids = (await engine.read()).map((r) => r.record['id']);
    expect(ids).toEqual([...emitted, late[0]!.id, late[1]!.id]);
    const reg = engine.metrics.registry;
    expect(await metricValue(reg, 'audit_drop_total', { reason: 'closed' })).toBe(2); // the emit during close + the abandoned slot
    expect(engine.health().queue.occupancy).toBe(0);
  });

  it('closes promptly when every reservation is settled, without waiting for the timeout', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    const slot = engine.reserve();
    setTimeout(() => slot.commit(ev), 30);
    const t0 = performance.now();
    await engine.close({ timeoutMs: 5000 });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(engine.checkpoint()?.size).toBe(1);
  });

  it('stays closed when a key load that was in flight fails after close()', async () => {
    const keystoreDir = join(await tempDir(), 'keys');
    const engine = audit({ keystoreDir, keyId: TEST_KEY });
    await engine.close();
    const err = (await rejected(engine.ready())) as AuditError;
    expect(err).toBeInstanceOf(AuditError);
    await sleep(20);
    expect(engine.health()).toMatchObject({ ready: false, status: 'closed' });
    expect((thrown(() => engine.emit(ev)) as AuditError).code).toBe('AUDIT_CLOSED');
    expect((internals(engine) as unknown as { keyTimer: unknown }).keyTimer).toBeUndefined();
  });

  it('stays closed when a key load that was in flight succeeds after close()', async () => {
    const keystoreDir = await keystoreWithKey();
    const engine = audit({ keystoreDir, keyId: TEST_KEY });
    await engine.close();
    await rejected(engine.ready());
    expect(engine.health()).toMatchObject({ ready: false, status: 'closed' });
    expect((thrown(() => engine.emit(ev)) as AuditError).code).toBe('AUDIT_CLOSED');
  });
});
