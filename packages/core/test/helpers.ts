import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { generateKey } from '../src/sign/keystore.js';

/** A temporary directory removed after the test file; real files, real fsync. */
export function tempDir(prefix = 'ron-audit-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function keystore(root: string, alias = 'k'): Promise<{ keystoreDir: string; keyId: string }> {
  const keystoreDir = join(root, 'keys');
  await generateKey(keystoreDir, alias);
  return { keystoreDir, keyId: alias };
}

export function copyDir(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
}
