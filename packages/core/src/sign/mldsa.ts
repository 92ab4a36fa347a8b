import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';
import { assertBytes } from '../errors.js';

/**
 * ML-DSA-44 (FIPS 204) for post-quantum readiness (runbook §11): an optional second signature on
 * checkpoints, in C2SP signed-note form with signature type 0xff followed by ML_DSA_44_ID
 * (docs/format.md §6.1). Pure ML-DSA, empty context, hedged (randomized) signing as FIPS 204
 * recommends. Pure JavaScript (@noble/post-quantum): a few ms per signature — see the bench.
 */
export const ML_DSA_44_ID = 'ron-audit.dev/ml-dsa-44';
export const ML_DSA_44_PUBLIC_BYTES = 1312;
export const ML_DSA_44_SIGNATURE_BYTES = 2420;

const id = new TextEncoder().encode(ML_DSA_44_ID);
/** The signed-note "signature type" bytes: 0xff ‖ UTF-8(ML_DSA_44_ID). */
export const ML_DSA_44_TYPE = Uint8Array.from([0xff, ...id]);

export function mldsaKeypair(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  assertBytes('seed', seed, 32);
  return ml_dsa44.keygen(seed);
}

export function mldsaSign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ml_dsa44.sign(message, secretKey);
}

export function mldsaVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ML_DSA_44_PUBLIC_BYTES || signature.length !== ML_DSA_44_SIGNATURE_BYTES) return false;
  try {
    return ml_dsa44.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
