import { generateKey, keyFileExists, resolveConfig } from '@ron-audit/core';

/**
 * Run-out-of-the-box convenience of the example (the library never does this): make sure the
 * signing key named by AUDIT_KEY_ID exists in AUDIT_KEYSTORE_DIR, generating it if it is missing.
 */
export async function ensureSigningKey(): Promise<void> {
  const { keystoreDir, keyId } = resolveConfig({}, process.env);
  // Only whether its file is there: a key that is there but unusable (too open, malformed) is the
  // engine's to judge, and it starts not ready with the reason (/readyz 503) rather than exiting.
  if (await keyFileExists(keystoreDir, keyId)) return;
  await generateKey(keystoreDir, keyId);
  console.log(`audit key "${keyId}" was missing from ${keystoreDir}: generated a new one`);
}
