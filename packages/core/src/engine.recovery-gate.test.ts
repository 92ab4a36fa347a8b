import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { heldRecovery, writtenWal, type WalFixture } from '../test/support/recovery-fixture.js';
import { createAudit } from './create-audit.js';
import type { AuditEngine } from './api.js';
import { AuditError } from './errors.js';

/**
 * Regression (issue 13 item 8): the engine reported ready, and admitted records, while it was
 * still recovering its WAL; when recovery then refused, the records it had acknowledged (2xx with
 * an Audit-Id through the Express and Nest adapters) were dropped. Recovery is held on a real WAL
 * by the file layer, so the test looks at the engine mid-recovery without timing.
 */

const ev = { action: 'during.recovery', outcome: 'success' as const };
let fixture: WalFixture | undefined;
let engine: AuditEngine | undefined;
afterEach(async () => {
  await engine?.close({ timeoutMs: 0 });
  await fixture?.remove();
  engine = fixture = undefined;
});

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

async function notDropped(e: AuditEngine): Promise<number> {
  const m = await e.metrics.registry.getSingleMetric('audit_drop_total')?.get();
  return m?.values.find((v) => v.labels['reason'] === 'not_ready')?.value ?? 0;
}

describe('an engine recovering its WAL (ready before recovery)', () => {
  it('is not ready and admits nothing until recovery has finished, then is ready and appends after the recovered records', async () => {
    fixture = await writtenWal(12);
    const held = heldRecovery(fixture.walDir);
    engine = createAudit({ ...fixture.options({ fileOps: held.fileOps }), registry: new Registry() });
    await held.reached;
    const h = engine.health();
    expect(h).toMatchObject({ ready: false, status: 'starting' });
    expect(h.reasons).toEqual([{ code: 'AUDIT_NOT_READY', message: expect.stringContaining('recovering the write-ahead log') as string }]);
    const e1 = thrown(() => engine!.emit(ev)) as AuditError;
    expect(e1).toBeInstanceOf(AuditError);
    expect(e1.code).toBe('AUDIT_NOT_READY');
    expect(e1.message).toContain('recovering the write-ahead log');
    expect((thrown(() => engine!.reserve()) as AuditError).code).toBe('AUDIT_NOT_READY');
    await expect(engine.emitDurable(ev)).rejects.toMatchObject({ code: 'AUDIT_NOT_READY' });
    expect(await notDropped(engine)).toBe(3);

    held.release();
    await engine.ready();
    expect(engine.health()).toMatchObject({ ready: true, status: 'ready', reasons: [] });
    const receipt = await engine.emitDurable(ev);
    expect(receipt).toMatchObject({ seq: 12, durable: true });
  });

  it('recovery refusing (AUDIT_WAL_CORRUPT): refused before and after, not ready with the reason, and the WAL and export unchanged', async () => {
    fixture = await writtenWal(12);
    await fixture.damage();
    const before = await fixture.state();
    const held = heldRecovery(fixture.walDir);
    engine = createAudit({ ...fixture.options({ fileOps: held.fileOps }), registry: new Registry() });
    await held.reached;
    expect((thrown(() => engine!.emit(ev)) as AuditError).code).toBe('AUDIT_NOT_READY');
    expect(engine.health().ready).toBe(false);

    held.release();
    await expect(engine.ready()).rejects.toMatchObject({ code: 'AUDIT_WAL_CORRUPT' });
    const h = engine.health();
    expect(h).toMatchObject({ ready: false, status: 'not_ready' });
    expect(h.reasons.map((r) => r.code)).toEqual(['AUDIT_WAL_CORRUPT']);
    const e2 = thrown(() => engine!.emit(ev)) as AuditError;
    expect(e2.code).toBe('AUDIT_NOT_READY');
    expect(e2.message).toContain('write-ahead log damaged');
    expect((thrown(() => engine!.reserve()) as AuditError).code).toBe('AUDIT_NOT_READY');
    await engine.close();
    engine = undefined;
    expect(await fixture.state()).toBe(before);
  });
});
