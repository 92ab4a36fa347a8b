import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { Ed25519Backend } from './ed25519.js';

/** node:crypto Ed25519 (OpenSSL): ~10x the pure-JS signer, byte-identical signatures (deterministic scheme). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const privateKeys = new Map<string, KeyObject>();
const publicKeys = new Map<string, KeyObject>();

function cached(map: Map<string, KeyObject>, raw: Uint8Array, make: (der: Buffer) => KeyObject, prefix: Buffer): KeyObject {
  const k = Buffer.from(raw).toString('base64');
  let key = map.get(k);
  if (key === undefined) {
    key = make(Buffer.concat([prefix, raw]));
    if (map.size > 256) map.clear();
    map.set(k, key);
  }
  return key;
}

const toU8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export const nativeEd25519: Ed25519Backend = {
  name: 'native',
  publicKey(seed) {
    const priv = cached(privateKeys, seed, (der) => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), PKCS8_PREFIX);
    const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
    return toU8(spki.subarray(SPKI_PREFIX.length));
  },
  sign(seed, message) {
    const priv = cached(privateKeys, seed, (der) => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), PKCS8_PREFIX);
    return toU8(sign(null, message, priv));
  },
  verifyRaw(publicKey, message, signature) {
    try {
      const pub = cached(publicKeys, publicKey, (der) => createPublicKey({ key: der, format: 'der', type: 'spki' }), SPKI_PREFIX);
      return verify(null, message, pub, signature);
    } catch {
      return false;
    }
  },
};
