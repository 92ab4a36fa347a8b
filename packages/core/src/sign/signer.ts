import { keyIdOf, isValidKeyName, type NoteSigner } from './note.js';
import { signEd25519, publicKeyFromSeed } from './ed25519.js';
import { assertBytes, invalidArgument } from '../errors.js';

/**
 * What the log needs from a key: its public half and a way to sign checkpoint text. The local
 * keystore implements it; a KMS or HSM can implement it too (sign may return a promise — the
 * appender awaits it once per batch, never per record).
 */
export interface Signer {
  readonly alias: string;
  readonly publicKey: Uint8Array;
  /** Absent: Ed25519. 'ml-dsa-44': the optional post-quantum checkpoint signature (format §6.1). */
  readonly alg?: 'ed25519' | 'ml-dsa-44';
  sign(message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

export function localSigner(alias: string, seed: Uint8Array): Signer {
  assertBytes('seed', seed, 32);
  const publicKey = publicKeyFromSeed(seed);
  return Object.freeze({ alias, publicKey, sign: (m: Uint8Array) => signEd25519(seed, m) });
}

/** The signed-note view of a signer for a log: key name = origin (format §6). */
export function noteSignerFor(origin: string, signer: Signer): NoteSigner {
  if (!isValidKeyName(origin)) throw invalidArgument('origin', 'a key name without spaces or "+"', origin);
  return { name: origin, keyId: keyIdOf(origin, signer.publicKey, signer.alg ?? 'ed25519'), sign: (m) => signer.sign(m) };
}
