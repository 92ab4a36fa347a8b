import { getHashBackend, pureBackend, setHashBackend, type HashBackend } from './prim/hash.js';
import { getEd25519Backend, pureEd25519, setEd25519Backend, type Ed25519Backend } from './sign/ed25519.js';

/**
 * The one place that installs the crypto backends process-wide (the engine at start, the export
 * and PostgreSQL verifiers before they hash). Both backends compute the same bytes; the fast one —
 * WebAssembly BLAKE3, node:crypto SHA-256 and Ed25519 — loads only where Node and WebAssembly are,
 * so it is imported dynamically: the verifier subpath stays pure JavaScript until asked.
 */

export type BackendChoice = 'auto' | 'fast' | 'pure';

let loading: Promise<{ hash: HashBackend; ed25519: Ed25519Backend }> | undefined;

function loadFast(): Promise<{ hash: HashBackend; ed25519: Ed25519Backend }> {
  loading ??= (async () => {
    const [{ createFastBackend }, { nativeEd25519 }] = await Promise.all([import('./prim/hash-fast.js'), import('./sign/ed25519-native.js')]);
    return { hash: await createFastBackend(), ed25519: nativeEd25519 };
  })().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

/**
 * 'pure': install the pure-JavaScript backends. 'fast': install the fast ones, or reject if they do
 * not load. 'auto': the fast ones if they load, else leave what is installed (the pure ones unless
 * someone installed others). A fast backend already installed is kept. Resolves with what is in use.
 */
export async function installBackends(choice: BackendChoice): Promise<'fast' | 'pure'> {
  if (choice === 'pure') {
    setHashBackend(pureBackend);
    setEd25519Backend(pureEd25519);
    return 'pure';
  }
  let fast: { hash: HashBackend; ed25519: Ed25519Backend };
  try {
    fast = await loadFast();
  } catch (err) {
    if (choice === 'fast') throw err;
    return 'pure';
  }
  if (getHashBackend().name !== 'fast') setHashBackend(fast.hash);
  if (getEd25519Backend().name === 'pure') setEd25519Backend(fast.ed25519);
  return 'fast';
}
