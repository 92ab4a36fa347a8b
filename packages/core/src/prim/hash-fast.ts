import { hash } from 'node:crypto';
import { createBLAKE3, type IHasher } from 'hash-wasm';
import { FORMAT_KEYS, type BackendKeys, type HashBackend } from './hash.js';

/**
 * The fast hash backend: hash-wasm's WebAssembly BLAKE3 (~10x @noble/hashes on 512-byte records)
 * and node:crypto SHA-256. Creating it is async (the WebAssembly module compiles); after that every
 * call is synchronous. Only backends.ts imports this file, dynamically, so the verifier subpath stays pure JS.
 */
export async function createFastBackend(keys: BackendKeys = FORMAT_KEYS): Promise<HashBackend> {
  const [chain, genesis, plain, streamHasher] = await Promise.all([createBLAKE3(256, keys.chain), createBLAKE3(256, keys.genesis), createBLAKE3(256), createBLAKE3(256)]);
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
    blake3Stream() {
      // One WebAssembly hasher serves every stream: each step resumes the stream's own saved
      // state, so streams of concurrent requests (and the one-shot calls, which init()) interleave
      // safely on the one thread. A saved BLAKE3 state is a few kB, small beside a 64 kB chunk.
      let state: Uint8Array | undefined;
      let done = false;
      const resume = (): void => {
        if (done) throw new Error('blake3Stream: digest() was already called');
        if (state === undefined) streamHasher.init();
        else streamHasher.load(state);
      };
      return {
        update(data) {
          resume();
          streamHasher.update(data);
          state = streamHasher.save();
        },
        digest() {
          resume();
          done = true;
          return streamHasher.digest('binary');
        },
      };
    },
    sha256(data) {
      // crypto.hash (one shot, Node ≥ 20.12) is ~1.6x createHash().update().digest() on small inputs.
      // Its 'buffer' output is a fresh ArrayBuffer made in C++ per call, which costs more than the
      // hash itself and weighs on the GC (the tree keeps two of them per record); a latin1 string
      // (one char per byte) turned back into bytes by Buffer.from comes from the 8 kB pool:
      // leaf + interior hash 3.1 → 1.5 µs here (bench/core-append, docs/performance.md).
      return Buffer.from(hash('sha256', data, 'binary'), 'latin1');
    },
    sha256Latin1(data) {
      return hash('sha256', data, 'binary'); // 'binary' is latin1
    },
  };
}
