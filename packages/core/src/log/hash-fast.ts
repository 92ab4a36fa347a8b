import { hash } from 'node:crypto';
import { createBLAKE3, type IHasher } from 'hash-wasm';
import { FORMAT_KEYS, type BackendKeys, type HashBackend } from './hash.js';

/**
 * The fast hash backend: hash-wasm's WebAssembly BLAKE3 (~10x @noble/hashes on 512-byte records)
 * and node:crypto SHA-256. Creating it is async (the WebAssembly module compiles); after that every
 * call is synchronous. Only the engine imports this file, so the verifier subpath stays pure JS.
 */
export async function createFastBackend(keys: BackendKeys = FORMAT_KEYS): Promise<HashBackend> {
  const [chain, genesis, plain] = await Promise.all([createBLAKE3(256, keys.chain), createBLAKE3(256, keys.genesis), createBLAKE3(256)]);
  const run = (h: IHasher, data: Uint8Array): Uint8Array => {
    h.init();
    h.update(data);
    return h.digest('binary');
  };
  return {
    name: 'fast',
    blake3Keyed(key, data) {
      return run(key === 'chain' ? chain : genesis, data);
    },
    blake3(data) {
      return run(plain, data);
    },
    sha256(data) {
      // crypto.hash (one shot, Node ≥ 20.12) is ~1.6x createHash().update().digest() on small inputs.
      return hash('sha256', data, 'buffer') as unknown as Uint8Array;
    },
  };
}
