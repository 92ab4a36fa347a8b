import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createFastBackend } from './hash-fast.js';
import {
  K_CHAIN,
  K_CHAIN_CONTEXT,
  K_GENESIS,
  K_GENESIS_CONTEXT,
  contentDigest,
  createPureBackend,
  deriveKey,
  getHashBackend,
  leafHash,
  nodeHash,
  pureBackend,
  setHashBackend,
  type HashBackend,
} from './hash.js';
import { genesis as genesisLink, nextLink as recordHash } from '../log/chain.js';
import { toHex } from './hex.js';

/**
 * BLAKE3-team/BLAKE3 test_vectors.json (test/vectors/blake3/): 35 input lengths × hash, keyed_hash
 * and derive_key, each checked on its 32-byte prefix (the only output length the format uses),
 * through the pure and the fast backend.
 */

interface Blake3Case {
  input_len: number;
  hash: string;
  keyed_hash: string;
  derive_key: string;
}
interface Blake3Vectors {
  key: string;
  context_string: string;
  cases: Blake3Case[];
}

const vectors = JSON.parse(readFileSync(new URL('../../test/vectors/blake3/test_vectors.json', import.meta.url), 'utf8')) as Blake3Vectors;
const KEY = new TextEncoder().encode(vectors.key);

/** The vectors' input: byte i is i % 251. */
function input(len: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => i % 251);
}

const prefix = (hex: string): string => hex.slice(0, 64);

const original = getHashBackend();
afterEach(() => setHashBackend(original));

describe('BLAKE3 vectors', () => {
  it('has the 35 published cases with a 32-byte ASCII key', () => {
    expect(vectors.cases).toHaveLength(35);
    expect(KEY).toHaveLength(32);
  });

  const backends: [string, () => Promise<{ plain: HashBackend; keyed: HashBackend }>][] = [
    ['pure', async () => ({ plain: pureBackend, keyed: createPureBackend({ chain: KEY, genesis: KEY }) })],
    ['fast', async () => ({ plain: await createFastBackend(), keyed: await createFastBackend({ chain: KEY, genesis: KEY }) })],
  ];

  for (const [name, make] of backends) {
    describe(`${name} backend`, () => {
      it('hash mode: contentDigest and backend.blake3 equal the first 32 bytes of `hash`', async () => {
        const { plain } = await make();
        setHashBackend(plain);
        for (const c of vectors.cases) {
          const data = input(c.input_len);
          expect(toHex(plain.blake3(data)), `input_len ${c.input_len}`).toBe(prefix(c.hash));
          expect(toHex(contentDigest(data)), `input_len ${c.input_len}`).toBe(prefix(c.hash));
        }
      });

      it('keyed mode: blake3Keyed and recordHash equal the first 32 bytes of `keyed_hash`', async () => {
        const { keyed } = await make();
        setHashBackend(keyed);
        for (const c of vectors.cases) {
          const data = input(c.input_len);
          expect(toHex(keyed.blake3Keyed('chain', data)), `input_len ${c.input_len}`).toBe(prefix(c.keyed_hash));
          expect(toHex(keyed.blake3Keyed('genesis', data)), `input_len ${c.input_len}`).toBe(prefix(c.keyed_hash));
          expect(toHex(recordHash(data)), `input_len ${c.input_len}`).toBe(prefix(c.keyed_hash));
        }
      });

      it('keyed mode: genesisLink hashes UTF-8(origin) (inputs of ≤ 128 bytes are ASCII)', async () => {
        const { keyed } = await make();
        setHashBackend(keyed);
        const ascii = vectors.cases.filter((c) => c.input_len <= 128);
        expect(ascii.length).toBe(14);
        for (const c of ascii) {
          const origin = String.fromCharCode(...input(c.input_len));
          expect(toHex(genesisLink(origin)), `input_len ${c.input_len}`).toBe(prefix(c.keyed_hash));
        }
      });
    });
  }

  it('derive_key mode: deriveKey(context, input) equals the first 32 bytes of `derive_key`', () => {
    for (const c of vectors.cases) {
      expect(toHex(deriveKey(vectors.context_string, input(c.input_len))), `input_len ${c.input_len}`).toBe(prefix(c.derive_key));
    }
  });
});

describe('format v1 keys (format.md §3)', () => {
  it('K_CHAIN and K_GENESIS are derive_key of their context strings with empty key material', () => {
    expect(toHex(deriveKey(K_CHAIN_CONTEXT))).toBe(toHex(K_CHAIN));
    expect(toHex(deriveKey(K_GENESIS_CONTEXT))).toBe(toHex(K_GENESIS));
    expect(toHex(K_CHAIN)).toBe('4c404cb757fc326668757d2c9bdefc20bed7da6d8088714313afd59b542af820');
    expect(toHex(K_GENESIS)).toBe('427de27f6693fbb44da9537fed0905e69e3009acd416d368752a6cf626cce334');
  });

  it('the pure and fast backends agree on record hash, genesis link, leaf and node hashes with the format keys', async () => {
    const fast = await createFastBackend();
    const run = (b: HashBackend, data: Uint8Array): string[] => {
      setHashBackend(b);
      const leaf = leafHash(data);
      return [recordHash(data), genesisLink(String.fromCharCode(...data.subarray(0, 128))), leaf, nodeHash(leaf, leaf), contentDigest(data)].map(toHex);
    };
    for (const len of [0, 1, 64, 1025, 65_535]) {
      const data = input(len);
      expect(run(fast, data)).toEqual(run(pureBackend, data));
    }
  });
});
