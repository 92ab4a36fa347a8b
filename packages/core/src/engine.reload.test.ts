import { describe, expect, it } from 'vitest';
import { keystore, tempDir } from '../test/helpers.js';
import { createAudit } from './create-audit.js';

describe('hot reload (runbook §6.5)', () => {
  it('applies the safe knobs live and reports what changed', async () => {
    const keys = await keystore(tempDir());
    const audit = createAudit({ ...keys, origin: 'test.local/reload', queueDepth: 4, env: {} });
    await audit.ready();
    const slots = [audit.reserve(), audit.reserve(), audit.reserve(), audit.reserve()];
    expect(audit.isSaturated()).toBe(true);
    await expect(audit.reload({ queueDepth: 8, retryAfterSeconds: 3, batchMax: 64 })).resolves.toEqual({ changed: ['queueDepth', 'retryAfterSeconds', 'batchMax'] });
    expect(audit.isSaturated()).toBe(false);
    expect(audit.config.queueDepth).toBe(8);
    expect(() => {
      for (let i = 0; i < 5; i++) audit.reserve();
    }).toThrow(expect.objectContaining({ code: 'AUDIT_QUEUE_FULL', details: { retryAfterSeconds: 3 } }));
    slots.forEach((s) => s.release());
    await audit.close({ timeoutMs: 10 });
  });

  it('refuses a knob that needs a restart, naming it, and changes nothing', async () => {
    const keys = await keystore(tempDir());
    const audit = createAudit({ ...keys, origin: 'test.local/reload2', queueDepth: 16, env: {} });
    await audit.ready();
    await expect(audit.reload({ queueDepth: 32, walDir: '/elsewhere' })).rejects.toMatchObject({ code: 'AUDIT_CONFIG_INVALID', message: expect.stringMatching(/walDir cannot change while running/) });
    expect(audit.config.queueDepth).toBe(16);
    await expect(audit.reload({ queueDepth: -1 })).rejects.toMatchObject({ code: 'AUDIT_CONFIG_INVALID', message: expect.stringMatching(/queueDepth/) });
    await expect(audit.reload({ keyId: 'missing' })).rejects.toMatchObject({ code: 'AUDIT_KEY_UNAVAILABLE' });
    expect(audit.config.keyId).toBe(keys.keyId);
    await expect(audit.reload(null as never)).rejects.toMatchObject({ code: 'AUDIT_INVALID_ARGUMENT' });
    await expect(audit.reload({ redact: ['x'] })).rejects.toMatchObject({ code: 'AUDIT_CONFIG_INVALID' });
    await audit.close();
    await expect(audit.reload({ queueDepth: 8 })).rejects.toMatchObject({ code: 'AUDIT_CLOSED' });
  });
});
