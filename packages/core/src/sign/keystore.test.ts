import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, keystoreWithKey, rejected, tempDir, TEST_KEY } from '../../test/support/engine.js';
import { AuditError } from '../errors.js';
import { fromBase64, toBase64 } from '../prim/base64.js';
import { verifyEd25519 } from './ed25519.js';
import { generateKey, keyFileExists, listKeys, loadSigner } from './keystore.js';

afterEach(cleanup);

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await rejected(p);
  expect(err).toBeInstanceOf(AuditError);
  return (err as AuditError).code;
}

describe('keystore', () => {
  it('generateKey writes a 0600 key file in a 0700 directory it creates', async () => {
    const dir = join(await tempDir(), 'a', 'keys');
    const info = await generateKey(dir, 'aud-2025q4', new Date('2026-01-01T00:00:00.000Z'));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const file = join(dir, 'aud-2025q4.key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const content = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    expect(content).toMatchObject({ v: 1, alias: 'aud-2025q4', algorithm: 'ed25519', created: '2026-01-01T00:00:00.000Z', public: toBase64(info.publicKey) });
    expect(fromBase64(content['seed'] as string)).toHaveLength(32);
  });

  it('loadSigner loads the key generateKey wrote, and its signatures verify under the public key', async () => {
    const dir = await tempDir();
    const info = await generateKey(dir, TEST_KEY);
    const signer = await loadSigner(dir, TEST_KEY);
    expect(signer.alias).toBe(TEST_KEY);
    expect(signer.publicKey).toEqual(info.publicKey);
    const msg = new TextEncoder().encode('checkpoint text\n');
    expect(verifyEd25519(info.publicKey, msg, await signer.sign(msg))).toBe(true);
    expect((await listKeys(dir)).map((k) => k.alias)).toEqual([TEST_KEY]);
  });

  it('never overwrites an existing key', async () => {
    const dir = await keystoreWithKey();
    const before = await readFile(join(dir, `${TEST_KEY}.key`), 'utf8');
    expect(await codeOf(generateKey(dir, TEST_KEY))).toBe('AUDIT_KEY_INVALID');
    expect(await readFile(join(dir, `${TEST_KEY}.key`), 'utf8')).toBe(before);
  });

  it('a missing key is AUDIT_KEY_UNAVAILABLE and the message says how to create one', async () => {
    const dir = await tempDir();
    const err = (await rejected(loadSigner(dir, 'nope'))) as AuditError;
    expect(err.code).toBe('AUDIT_KEY_UNAVAILABLE');
    expect(err.message).toContain(join(dir, 'nope.key'));
    expect(err.message).toContain('ronctl kms keygen --key-alias nope');
  });

  it.each([0o644, 0o640, 0o604, 0o660])('refuses a key file readable by group or others (mode %o) as AUDIT_KEY_UNAVAILABLE', async (mode) => {
    const dir = await keystoreWithKey();
    await chmod(join(dir, `${TEST_KEY}.key`), mode);
    const err = (await rejected(loadSigner(dir, TEST_KEY))) as AuditError;
    expect(err.code).toBe('AUDIT_KEY_UNAVAILABLE');
    expect(err.message).toContain(`mode ${mode.toString(8)}`);
    expect(err.message).toContain('chmod 600');
  });

  it.each([0o777, 0o770, 0o730, 0o702])('refuses a keystore directory writable by group or others (mode %o): they could replace the key file (issue 14 item 9)', async (mode) => {
    const dir = await keystoreWithKey();
    await chmod(dir, mode);
    try {
      const err = (await rejected(loadSigner(dir, TEST_KEY))) as AuditError;
      expect(err.code).toBe('AUDIT_KEY_UNAVAILABLE');
      expect(err.message).toContain(`keystore directory ${dir} is writable by group or others (mode ${mode.toString(8)})`);
      expect(err.message).toContain('chmod 700');
    } finally {
      await chmod(dir, 0o700);
    }
  });

  it.each([0o700, 0o750, 0o755, 0o711])('accepts a keystore directory others can only read or enter (mode %o)', async (mode) => {
    const dir = await keystoreWithKey();
    await chmod(dir, mode);
    expect((await loadSigner(dir, TEST_KEY)).alias).toBe(TEST_KEY);
  });

  it('keyFileExists tells whether a key file is there without reading or judging it, and refuses wrong input', async () => {
    const dir = await keystoreWithKey();
    expect(await keyFileExists(dir, TEST_KEY)).toBe(true);
    expect(await keyFileExists(dir, 'other')).toBe(false);
    expect(await keyFileExists(join(dir, 'missing-dir'), TEST_KEY)).toBe(false);
    // A too-open or malformed file exists: judging it is the engine's (not ready, with the reason).
    await writeFile(join(dir, 'open.key'), 'not a key', { mode: 0o644 });
    expect(await keyFileExists(dir, 'open')).toBe(true);
    for (const [d, a] of [[dir, 'bad alias'], [dir, ''], ['', TEST_KEY], [dir, 5], [5, TEST_KEY]] as const) {
      expect(await codeOf(keyFileExists(d as never, a as never))).toBe('AUDIT_INVALID_ARGUMENT');
    }
  });

  const good = async (): Promise<Record<string, unknown>> => {
    const dir = await keystoreWithKey();
    return JSON.parse(await readFile(join(dir, `${TEST_KEY}.key`), 'utf8')) as Record<string, unknown>;
  };
  const malformed: [string, (k: Record<string, unknown>) => string][] = [
    ['not JSON', () => 'seed=abc\n'],
    ['empty', () => ''],
    ['a JSON array', () => '[]'],
    ['JSON null', () => 'null'],
    ['a JSON string', () => '"seed"'],
    ['version 2', (k) => JSON.stringify({ ...k, v: 2 })],
    ['another algorithm', (k) => JSON.stringify({ ...k, algorithm: 'ml-dsa-65' })],
    ['a short seed', (k) => JSON.stringify({ ...k, seed: toBase64(new Uint8Array(31)) })],
    ['a seed that is not base64', (k) => JSON.stringify({ ...k, seed: 'not base64!' })],
    ['a public key that does not match the seed', (k) => JSON.stringify({ ...k, public: toBase64(new Uint8Array(32)) })],
  ];
  it.each(malformed)('a key file with %s is AUDIT_KEY_INVALID', async (_name, make) => {
    const dir = await tempDir();
    await writeFile(join(dir, `${TEST_KEY}.key`), make(await good()), { mode: 0o600 });
    expect(await codeOf(loadSigner(dir, TEST_KEY))).toBe('AUDIT_KEY_INVALID');
  });

  it.each(['', '../etc/passwd', 'a/b', 'x'.repeat(65), 'sp ace'])('refuses the alias %j with AUDIT_INVALID_ARGUMENT before touching the file system', async (alias) => {
    const dir = await tempDir();
    expect(await codeOf(loadSigner(dir, alias))).toBe('AUDIT_INVALID_ARGUMENT');
    expect(await codeOf(generateKey(dir, alias))).toBe('AUDIT_INVALID_ARGUMENT');
  });
});
