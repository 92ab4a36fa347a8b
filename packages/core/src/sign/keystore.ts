import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { AuditError, invalidArgument } from '../errors.js';
import { fromBase64, toBase64 } from '../prim/base64.js';
import { publicKeyFromSeed } from './ed25519.js';
import { localSigner, type Signer } from './signer.js';
import { mldsaKeypair, mldsaSign } from './mldsa.js';

/**
 * The local keystore: one file per key alias, `<dir>/<alias>.key`, mode 0600, in a 0700 directory.
 * File content (JSON, one line): {"v":1,"alias":…,"algorithm":"ed25519","seed":<base64 32 bytes>,
 * "public":<base64 32 bytes>,"created":<RFC 3339>}. Like ssh, a key file readable by group or
 * others is refused: a signing key that others can read is not a key.
 */

export const ALIAS_RE = /^[A-Za-z0-9._-]{1,64}$/;

export interface KeyInfo {
  readonly alias: string;
  readonly publicKey: Uint8Array;
  readonly created: string;
}

function keyPath(dir: string, alias: string): string {
  if (typeof alias !== 'string' || !ALIAS_RE.test(alias)) throw invalidArgument('alias', '1–64 characters from [A-Za-z0-9._-]', alias);
  if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument('dir', 'a directory path', dir);
  return join(dir, `${alias}.key`);
}

/** The exact command that creates a missing key (a test runs it as printed). */
function keygenCommand(dir: string, alias: string, pq: boolean): string {
  const arg = (s: string) => (/^[A-Za-z0-9_./=:@-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  return `npx ronctl kms keygen${pq ? ' --pq' : ''} --key-alias ${alias} --keystore-dir ${arg(dir)}`;
}

function unavailable(alias: string, why: string): AuditError {
  return new AuditError('AUDIT_KEY_UNAVAILABLE', `signing key "${alias}" is unavailable: ${why}`, { alias });
}

/**
 * Create a key file exclusively (never overwrite a signing key), 0600, fsynced with its directory.
 * Shared by the Ed25519 key and its optional ML-DSA-44 companion.
 */
async function createKeyFile(dir: string, path: string, alias: string, algorithm: 'ed25519' | 'ml-dsa-44', seed: Uint8Array, publicKey: Uint8Array, now: Date): Promise<KeyInfo> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const created = now.toISOString();
  const body = JSON.stringify({ v: 1, alias, algorithm, seed: toBase64(seed), public: toBase64(publicKey), created }) + '\n';
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AuditError('AUDIT_KEY_INVALID', `${algorithm} key "${alias}" already exists in ${dir}; refusing to overwrite a signing key`, { alias });
    throw err;
  }
  try {
    await fh.writeFile(body);
    await fh.sync();
  } finally {
    await fh.close();
  }
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
  return { alias, publicKey, created };
}

export async function generateKey(dir: string, alias: string, now: Date = new Date()): Promise<KeyInfo> {
  const path = keyPath(dir, alias);
  const seed = new Uint8Array(randomBytes(32));
  return createKeyFile(dir, path, alias, 'ed25519', seed, publicKeyFromSeed(seed), now);
}

async function readKeyFile(dir: string, alias: string): Promise<{ seed: Uint8Array; info: KeyInfo }> {
  const path = keyPath(dir, alias);
  let stat;
  let text: string;
  try {
    stat = await fs.stat(path);
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw unavailable(alias, code === 'ENOENT' ? `no key file ${path} (create one with: ${keygenCommand(dir, alias, false)})` : `cannot read ${path} (${code ?? 'error'})`);
  }
  if ((stat.mode & 0o077) !== 0) throw unavailable(alias, `${path} is readable by group or others (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`);
  await assertKeystoreDir(dir, alias);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new AuditError('AUDIT_KEY_INVALID', `key file ${path} is not valid JSON`, { alias });
  }
  if (parsed === null || typeof parsed !== 'object') throw new AuditError('AUDIT_KEY_INVALID', `key file ${path} is not a JSON object`, { alias });
  const seed = typeof parsed['seed'] === 'string' ? fromBase64(parsed['seed']) : null;
  if (parsed['v'] !== 1 || parsed['algorithm'] !== 'ed25519' || seed === null || seed.length !== 32) {
    throw new AuditError('AUDIT_KEY_INVALID', `key file ${path} is not a v1 ed25519 key`, { alias });
  }
  const publicKey = publicKeyFromSeed(seed);
  const stored = typeof parsed['public'] === 'string' ? fromBase64(parsed['public']) : null;
  if (stored !== null && toBase64(stored) !== toBase64(publicKey)) throw new AuditError('AUDIT_KEY_INVALID', `key file ${path}: public key does not match the seed`, { alias });
  return { seed, info: { alias, publicKey, created: typeof parsed['created'] === 'string' ? parsed['created'] : '' } };
}

/** Load a signer; throws AUDIT_KEY_UNAVAILABLE (missing, unreadable, too open) or AUDIT_KEY_INVALID (malformed). */
export async function loadSigner(dir: string, alias: string): Promise<Signer> {
  const { seed } = await readKeyFile(dir, alias);
  return localSigner(alias, seed);
}

/**
 * The keystore directory itself: one that group or others can write to lets them replace a key
 * file (and with it what the engine signs with), so the key is unavailable until it is fixed
 * (AUDIT_KEY_UNAVAILABLE naming the directory, its mode and the fix). A directory others can only
 * read or enter is allowed: the key files themselves are 0600 (the keystore creates it 0700).
 */
async function assertKeystoreDir(dir: string, alias: string): Promise<void> {
  let mode: number;
  try {
    mode = (await fs.stat(dir)).mode;
  } catch (err) {
    throw unavailable(alias, `cannot stat the keystore directory ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if ((mode & 0o022) !== 0) throw unavailable(alias, `the keystore directory ${dir} is writable by group or others (mode ${(mode & 0o777).toString(8)}), so they could replace the key file; chmod 700 it`);
}

/**
 * Whether the keystore holds a file for `alias` (`<dir>/<alias>.key`), without reading or judging
 * it: for "create the key if it is missing" start-up code, which must not fail on another key's
 * file, and must leave the verdict on this one (mode, content) to the engine, which reports it as
 * not ready with the reason instead of exiting.
 */
export async function keyFileExists(dir: string, alias: string): Promise<boolean> {
  const path = keyPath(dir, alias);
  try {
    await fs.lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export async function listKeys(dir: string): Promise<KeyInfo[]> {
  return listByExtension(dir, '.key', async (alias) => (await readKeyFile(dir, alias)).info);
}

/** The keystore files `<alias><ext>` with a valid alias, by alias, each read (and refused) by `read`. */
async function listByExtension(dir: string, ext: string, read: (alias: string) => Promise<KeyInfo>): Promise<KeyInfo[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: KeyInfo[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith(ext)) continue;
    const alias = name.slice(0, -ext.length);
    if (!ALIAS_RE.test(alias)) continue;
    out.push(await read(alias));
  }
  return out;
}

/**
 * The optional ML-DSA-44 companion of a key alias (AUDIT_PQ_SIGN): `<dir>/<alias>.mldsa44`, same
 * JSON shape with "algorithm":"ml-dsa-44" and a 32-byte seed from which FIPS 204 derives the pair.
 */
function pqPath(dir: string, alias: string): string {
  return keyPath(dir, alias).replace(/\.key$/, '.mldsa44');
}

export async function generatePqKey(dir: string, alias: string, now: Date = new Date()): Promise<KeyInfo> {
  const path = pqPath(dir, alias);
  const seed = new Uint8Array(randomBytes(32));
  return createKeyFile(dir, path, alias, 'ml-dsa-44', seed, mldsaKeypair(seed).publicKey, now);
}

async function readPqKeyFile(dir: string, alias: string): Promise<{ seed: Uint8Array; info: KeyInfo }> {
  const path = pqPath(dir, alias);
  let text: string;
  let mode: number;
  try {
    mode = (await fs.stat(path)).mode;
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    throw unavailable(alias, `no ML-DSA-44 key file ${path} (create one with: ${keygenCommand(dir, alias, true)}) [${(err as NodeJS.ErrnoException).code ?? 'error'}]`);
  }
  if ((mode & 0o077) !== 0) throw unavailable(alias, `${path} is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  await assertKeystoreDir(dir, alias);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new AuditError('AUDIT_KEY_INVALID', `key file ${path} is not valid JSON`, { alias });
  }
  const seed = typeof parsed['seed'] === 'string' ? fromBase64(parsed['seed']) : null;
  if (parsed['algorithm'] !== 'ml-dsa-44' || seed === null || seed.length !== 32) throw new AuditError('AUDIT_KEY_INVALID', `key file ${path} is not an ml-dsa-44 key`, { alias });
  return { seed, info: { alias, publicKey: mldsaKeypair(seed).publicKey, created: typeof parsed['created'] === 'string' ? parsed['created'] : '' } };
}

export async function loadPqSigner(dir: string, alias: string): Promise<Signer> {
  const { seed } = await readPqKeyFile(dir, alias);
  const { publicKey, secretKey } = mldsaKeypair(seed);
  return Object.freeze({ alias, publicKey, alg: 'ml-dsa-44' as const, sign: (m: Uint8Array) => mldsaSign(secretKey, m) });
}

/** The ML-DSA-44 companions in the keystore (`<alias>.mldsa44`), by alias; refused like loadPqSigner refuses them. */
export async function listPqKeys(dir: string): Promise<KeyInfo[]> {
  return listByExtension(dir, '.mldsa44', async (alias) => (await readPqKeyFile(dir, alias)).info);
}
