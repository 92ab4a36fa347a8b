import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keystore, tempDir } from '../../test/helpers.js';
import { createAudit } from '../create-audit.js';
import { generatePqKey, loadPqSigner } from './keystore.js';
import { ML_DSA_44_SIGNATURE_BYTES, mldsaKeypair, mldsaSign, mldsaVerify } from './mldsa.js';
import { formatVerifierKey, openNote, parseNote, parseVerifierKey } from './note.js';
import { verifyExport } from '../verify/export.js';

describe('ML-DSA-44 checkpoint signatures (runbook §11)', () => {
  it('sign and verify with FIPS 204 ML-DSA-44, rejecting a flipped bit', () => {
    const { publicKey, secretKey } = mldsaKeypair(new Uint8Array(32).fill(9));
    const msg = new TextEncoder().encode('checkpoint\n');
    const sig = mldsaSign(secretKey, msg);
    expect(sig.length).toBe(ML_DSA_44_SIGNATURE_BYTES);
    expect(mldsaVerify(publicKey, msg, sig)).toBe(true);
    sig[100]! ^= 1;
    expect(mldsaVerify(publicKey, msg, sig)).toBe(false);
    expect(mldsaVerify(publicKey.subarray(1), msg, sig)).toBe(false);
  });

  it('adds an ML-DSA-44 signature line beside the Ed25519 one when pqSign is on', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    await generatePqKey(keys.keystoreDir, keys.keyId);
    const audit = createAudit({ ...keys, origin: 'test.local/pq', pqSign: true, env: {} });
    await audit.ready();
    audit.emit({ action: 'pq', outcome: 'success' });
    await audit.flush();
    const note = audit.checkpoint()!.note;
    const parsed = parseNote(note);
    expect(parsed.signatures).toHaveLength(2);
    const pq = await loadPqSigner(keys.keystoreDir, keys.keyId);
    const pqVkey = parseVerifierKey(formatVerifierKey('test.local/pq', pq.publicKey, 'ml-dsa-44'));
    expect(pqVkey.alg).toBe('ml-dsa-44');
    const ed = parseVerifierKey(audit.verifierKey());
    expect(openNote(note, [ed, pqVkey]).verified).toHaveLength(2);
    // An Ed25519-only verifier ignores the unknown post-quantum line (signed-note rules).
    expect(openNote(note, [ed]).unverified).toHaveLength(1);
    // A corrupted ML-DSA signature by a trusted ML-DSA key rejects the note.
    const lines = note.split('\n');
    const i = lines.findIndex((l, k) => k > 0 && l.startsWith('\u2014 ') && l.length > 1000);
    const b64 = lines[i]!.split(' ').at(-1)!;
    lines[i] = lines[i]!.replace(b64, b64.slice(0, 40) + (b64[40] === 'A' ? 'B' : 'A') + b64.slice(41));
    expect(() => openNote(lines.join('\n'), [ed, pqVkey])).toThrow(expect.objectContaining({ code: 'AUDIT_SIGNATURE_INVALID' }));
    expect((await audit.read()).length).toBe(1);
    await audit.close();
  });

  it('an export signed with both keys verifies under the ML-DSA-44 verifier key alone, and a flipped ML-DSA signature fails (regression: verifyExport checked every trusted key as Ed25519)', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    await generatePqKey(keys.keystoreDir, keys.keyId);
    const exportDir = join(root, 'export');
    const audit = createAudit({ ...keys, origin: 'test.local/pq-export', pqSign: true, walEnabled: true, walDir: join(root, 'wal'), exportEnabled: true, exportDir, env: {} });
    await audit.ready();
    for (let i = 0; i < 3; i++) audit.emit({ action: 'pq', outcome: 'success' });
    await audit.close();
    const pq = await loadPqSigner(keys.keystoreDir, keys.keyId);
    const pqVkey = formatVerifierKey('test.local/pq-export', pq.publicKey, 'ml-dsa-44');
    expect(await verifyExport({ dir: exportDir, keys: [pqVkey] })).toMatchObject({ ok: true, size: 3 });
    const file = join(exportDir, 'checkpoint');
    const note = readFileSync(file, 'utf8');
    const b64 = note.split('\n').find((l) => l.startsWith('\u2014 ') && l.length > 1000)!.split(' ').at(-1)!;
    writeFileSync(file, note.replace(b64, b64.slice(0, 40) + (b64[40] === 'A' ? 'B' : 'A') + b64.slice(41)));
    expect((await verifyExport({ dir: exportDir, keys: [pqVkey] })).failure).toMatchObject({ reason: 'signature_invalid' });
  });

  it('is not ready when pqSign is on and the ML-DSA key is missing', async () => {
    const keys = await keystore(tempDir());
    const audit = createAudit({ ...keys, origin: 'test.local/pq2', pqSign: true, env: {} });
    await expect(audit.ready()).rejects.toMatchObject({ code: 'AUDIT_KEY_UNAVAILABLE' });
    await audit.close();
  });
});
