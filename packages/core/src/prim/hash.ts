import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { assertBytes, assertString, invalidArgument } from '../errors.js';

/**
 * The format's hash functions (docs/format.md §3, §4). Every caller — appender, Micronode store,
 * verifier, CLI — goes through these, so the bytes that are hashed are built in exactly one place.
 *
 * Two backends compute the same bytes: a pure-JavaScript one (@noble/hashes, works everywhere,
 * the default so the verifier runs on edge runtimes) and a fast one (WebAssembly BLAKE3 from
 * hash-wasm, node:crypto SHA-256) that the engine installs at start when it can. The vector tests
 * run every case through both.
 */

export const K_CHAIN_CONTEXT = 'ron-audit 2026-11-27 format v1 record chain';
export const K_GENESIS_CONTEXT = 'ron-audit 2026-11-27 format v1 genesis';
export const K_CHAIN = hexToBytes('4c404cb757fc326668757d2c9bdefc20bed7da6d8088714313afd59b542af820');
export const K_GENESIS = hexToBytes('427de27f6693fbb44da9537fed0905e69e3009acd416d368752a6cf626cce334');
export const HASH_BYTES = 32;

export interface HashBackend {
  readonly name: 'pure' | 'fast';
  /** BLAKE3 keyed mode, 32-byte output, with the backend's chain or genesis key (K_CHAIN / K_GENESIS unless built with others for tests). */
  blake3Keyed(key: 'chain' | 'genesis', data: Uint8Array): Uint8Array;
  /** Plain BLAKE3-256 (used for body digests). */
  blake3(data: Uint8Array): Uint8Array;
  /** Plain BLAKE3-256 over data given in pieces (bodies longer than what is kept of them); equal to blake3() of the concatenation. */
  blake3Stream(): Blake3Stream;
  /** SHA-256 of `data` (the caller builds the RFC 6962 prefix into it). */
  sha256(data: Uint8Array): Uint8Array;
  /** The same digest as a latin1 string (one char per byte), where the backend has it without a byte array (node:crypto). */
  sha256Latin1?(data: Uint8Array): string;
}

/** BLAKE3 derive_key (32 bytes) for a context string and empty key material: how K_CHAIN and K_GENESIS were made. */
export function deriveKey(context: string, material: Uint8Array = new Uint8Array(0)): Uint8Array {
  assertString('context', context);
  assertBytes('material', material);
  return nobleBlake3(material, { context: new TextEncoder().encode(context) });
}

export interface Blake3Stream {
  update(data: Uint8Array): void;
  /** Once per stream. */
  digest(): Uint8Array;
}

export interface BackendKeys {
  readonly chain: Uint8Array;
  readonly genesis: Uint8Array;
}

export const FORMAT_KEYS: BackendKeys = { chain: K_CHAIN, genesis: K_GENESIS };

/** The pure-JavaScript backend; `keys` other than FORMAT_KEYS exist only to run the BLAKE3 keyed vectors through it. */
export function createPureBackend(keys: BackendKeys = FORMAT_KEYS): HashBackend {
  assertBytes('keys.chain', keys.chain, 32);
  assertBytes('keys.genesis', keys.genesis, 32);
  return {
    name: 'pure',
    blake3Keyed(key, data) {
      return nobleBlake3(data, { key: key === 'chain' ? keys.chain : keys.genesis });
    },
    blake3(data) {
      return nobleBlake3(data);
    },
    blake3Stream() {
      return nobleBlake3.create();
    },
    sha256(data) {
      return nobleSha256(data);
    },
  };
}

export const pureBackend: HashBackend = createPureBackend();

let backend: HashBackend = pureBackend;

export function setHashBackend(next: HashBackend): void {
  backend = next;
}

export function getHashBackend(): HashBackend {
  return backend;
}

/** RFC 6962 leaf hash SHA-256(0x00 ‖ bytes); `bytes` are the record's canonical bytes. */
export function leafHash(bytes: Uint8Array): Uint8Array {
  assertBytes('bytes', bytes);
  const input = new Uint8Array(bytes.length + 1);
  input.set(bytes, 1);
  return backend.sha256(input);
}

/**
 * Leaf hash from a buffer that already holds 0x00 ‖ record bytes. The appender encodes each record
 * straight into such a buffer, so the hot path copies the bytes zero times instead of once.
 */
export function leafHashOfInput(input: Uint8Array): Uint8Array {
  if (!(input instanceof Uint8Array) || input[0] !== 0x00) throw invalidArgument('input', 'Uint8Array starting with the 0x00 leaf prefix', input);
  return backend.sha256(input);
}

const nodeScratch = new Uint8Array(1 + 2 * HASH_BYTES);
nodeScratch[0] = 0x01;

/** RFC 6962 interior node hash SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  assertBytes('left', left, HASH_BYTES);
  assertBytes('right', right, HASH_BYTES);
  // One scratch buffer is safe: hashing is synchronous and the result is a fresh array.
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_BYTES);
  return backend.sha256(nodeScratch);
}

/** Plain BLAKE3-256, used for captured-body digests (format §2.2). */
/** A streaming contentDigest, for bodies digested as they arrive. */
export function contentDigestStream(): Blake3Stream {
  return backend.blake3Stream();
}

export function contentDigest(bytes: Uint8Array): Uint8Array {
  assertBytes('bytes', bytes);
  return backend.blake3(bytes);
}

export const EMPTY_ROOT = hexToBytes('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
