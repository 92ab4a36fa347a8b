import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { createAudit } from '../create-audit.js';
import type { AuditEngine } from '../api.js';
import { verifyLog } from '../verify/verify.js';
import { generateKey } from './keystore.js';
import { openNote, parseVerifierKey } from './note.js';
import { ANNOTATION_BY, ANNOTATION_NEW, ANNOTATION_SIG, KEY_ANNOUNCE_ACTION, KEY_RETIRE_ACTION, keyAnnounceMessage } from './rotation.js';
import { fromBase64 } from '../prim/base64.js';
import { verifyEd25519 } from './ed25519.js';
import { readWal } from '../sinks/wal/reader.js';

async function writeSome(audit: AuditEngine, n: number): Promise<void> {
  for (let i = 0; i < n; i++) audit.emit({ action: 'work', outcome: 'success', attributes: { i } });
  await audit.flush();
}

describe('key rotation (format §12)', () => {
  it('announces the new key under the old one, cross-signs two checkpoints, then retires the old key', async () => {
    const root = tempDir();
    const keystoreDir = join(root, 'keys');
    await generateKey(keystoreDir, 'aud-2025q3');
    await generateKey(keystoreDir, 'aud-2025q4');
    const base = { keystoreDir, walEnabled: true, walDir: join(root, 'wal'), origin: 'test.local/rotate', env: {} };
    const first = createAudit({ ...base, keyId: 'aud-2025q3' });
    await first.ready();
    await writeSome(first, 10);
    const oldVkey = first.verifierKey();
    await first.close();

    const second = createAudit({ ...base, keyId: 'aud-2025q4' });
    await second.ready();
    const newVkey = second.verifierKey();
    const notes: string[] = [];
    for (let round = 0; round < 4; round++) {
      await writeSome(second, 3);
      notes.push(second.checkpoint()!.note);
    }
    const records = await second.read();
    const announce = records.find((r) => r.record['action'] === KEY_ANNOUNCE_ACTION)!;
    const retire = records.find((r) => r.record['action'] === KEY_RETIRE_ACTION)!;
    expect(announce.seq).toBe(10);
    expect(retire.seq).toBeGreaterThan(announce.seq);
    const ann = announce.record['annotations'] as Record<string, string>;
    expect(ann[ANNOTATION_NEW]).toBe(newVkey);
    expect(ann[ANNOTATION_BY]).toBe(oldVkey);
    const oldKey = parseVerifierKey(oldVkey);
    expect(verifyEd25519(oldKey.publicKey, keyAnnounceMessage('test.local/rotate', newVkey), fromBase64(ann[ANNOTATION_SIG]!)!)).toBe(true);

    // Exactly two checkpoints carry both signatures (the WAL keeps every one); the newest only the new key's.
    const sigCount = (note: string) => note.split('\n').filter((l) => l.startsWith('\u2014 ')).length;
    const walNotes: string[] = [];
    for await (const e of readWal(join(root, 'wal'))) if (e.type === 'checkpoint') walNotes.push(new TextDecoder().decode(e.bytes));
    expect(walNotes.filter((n) => sigCount(n) === 2)).toHaveLength(2);
    expect(sigCount(notes.at(-1)!)).toBe(1);
    expect(() => openNote(notes.at(-1)!, [oldKey])).toThrow(expect.objectContaining({ code: 'AUDIT_SIGNATURE_INVALID' }));
    const s = second.snapshot();
    expect(verifyLog({ origin: s.origin, records: s.records, checkpoint: s.checkpoint!, keys: [newVkey] }).ok).toBe(true);
    await second.close();
  });

  it('rotates live through reload({keyId}) as after `ronctl kms rotate` + SIGHUP', async () => {
    const root = tempDir();
    const keystoreDir = join(root, 'keys');
    await generateKey(keystoreDir, 'a');
    const audit = createAudit({ keystoreDir, keyId: 'a', origin: 'test.local/live', env: {} });
    await audit.ready();
    await writeSome(audit, 5);
    await generateKey(keystoreDir, 'b');
    await expect(audit.reload({ keyId: 'b' })).resolves.toEqual({ changed: ['keyId'] });
    for (let r = 0; r < 3; r++) await writeSome(audit, 2);
    const actions = (await audit.read()).map((r) => r.record['action']);
    expect(actions).toContain(KEY_ANNOUNCE_ACTION);
    expect(actions).toContain(KEY_RETIRE_ACTION);
    expect(audit.health().key).toBe('b');
    await audit.close();
  });

  it('stays not ready, with the reason, when the key that signed the log is gone from the keystore', async () => {
    const root = tempDir();
    const keystoreDir = join(root, 'keys');
    const otherStore = join(root, 'other-keys');
    await generateKey(otherStore, 'old');
    await generateKey(keystoreDir, 'new');
    const base = { walEnabled: true, walDir: join(root, 'wal'), origin: 'test.local/lost', env: {} };
    const first = createAudit({ ...base, keystoreDir: otherStore, keyId: 'old' });
    await first.ready();
    await writeSome(first, 3);
    await first.close();
    const second = createAudit({ ...base, keystoreDir, keyId: 'new' });
    await second.ready().catch(() => undefined);
    const h = second.health();
    expect(h.ready).toBe(false);
    expect(h.reasons[0]).toMatchObject({ code: 'AUDIT_KEY_UNAVAILABLE' });
    expect(h.reasons[0]!.message).toMatch(/announce/);
    await second.close();
  });
});
