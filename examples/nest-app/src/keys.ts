import { generateKey, listKeys, resolveConfig } from '@ron-audit/core';

/**
 * Run-out-of-the-box convenience of the example (the library never does this): make sure the
 * signing key named by AUDIT_KEY_ID exists in AUDIT_KEYSTORE_DIR, generating it if it is missing.
 */
export async function ensureSigningKey(): Promise<void> {
  const { keystoreDir, keyId } = resolveConfig({}, process.env);
  const keys = await listKeys(keystoreDir);
  if (keys.some((k) => k.alias === keyId)) return;
  await generateKey(keystoreDir, keyId);
  console.log(`audit key "${keyId}" was missing from ${keystoreDir}: generated a new one`);
}
