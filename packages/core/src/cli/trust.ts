import { readFile } from 'node:fs/promises';
import { looksLikeKeyMaterial, looksLikePrivateKeyFile, quotedUnlessSecret } from '../prim/secret-text.js';
import { keyIdHex, parseVerifierKey } from '../sign/note.js';

/**
 * Trusted verifier keys given on the command line: `--key VKEY` (repeatable) and `--key-file FILE`
 * (one vkey per line, `#` comments). Every key is parsed here, so a typo is a usage error that
 * names the flag, not a verification failure later. Shared by every ronctl command that verifies.
 */
export async function keysFromFlags(keys: readonly string[], files: readonly string[], path: (file: string) => string, usage: (message: string) => Error): Promise<string[]> {
  const given: { key: string; where: string }[] = keys.map((key, i) => ({ key, where: keys.length === 1 ? '--key' : `--key #${i + 1}` }));
  for (const file of files) {
    const lines = (await readFile(path(file), 'utf8')).split('\n');
    lines.forEach((line, i) => {
      const t = line.trim();
      if (t.length > 0 && !t.startsWith('#')) given.push({ key: t, where: `--key-file ${file} line ${i + 1}` });
    });
  }
  // Format §6 rule 4: a trust list naming one (key name, key ID) twice is ambiguous, so it is a
  // usage error here rather than something the verdict could depend on.
  const seen = new Map<string, string>();
  for (const { key: k, where } of given) {
    let id: string;
    try {
      const v = parseVerifierKey(k);
      id = `${v.name}+${keyIdHex(v.keyId)}`;
    } catch (err) {
      throw usage(`${where}${notAVerifierKey(k, (err as Error).message)}`);
    }
    const shown = JSON.stringify(k.length > 80 ? `${k.slice(0, 80)}…` : k); // a verifier key: public
    if (seen.has(id)) throw usage(`${where} ${shown}: the key ${id} is given twice${seen.get(id) === k ? '' : ' (two keys with one name and key ID)'}; a trust list must name each key once (docs/format.md §6)`);
    seen.set(id, k);
  }
  return given.map((g) => g.key);
}

const VKEY_SHAPE = /^[^\s+]{1,256}\+[0-9a-f]{8}\+[A-Za-z0-9+/]+={0,2}$/;

/**
 * Why a text given as a verifier key is not one, without echoing anything that may be secret
 * (issue 14 item 8): a private key file or a seed gets a message that says so and how to get the
 * verifier key instead; only text shaped like a verifier key (public by nature) is quoted.
 */
function notAVerifierKey(text: string, why: string): string {
  if (looksLikePrivateKeyFile(text)) {
    return `: this is a private key (a keystore key file or a PEM key), not a verifier key; its content is not shown. Give the verifier key, its public half: ronctl kms list --keystore-dir DIR --origin ORIGIN --vkeys`;
  }
  if (VKEY_SHAPE.test(text)) return ` ${JSON.stringify(text)}: ${why}`;
  if (looksLikeKeyMaterial(text)) return `: ${quotedUnlessSecret(text)}, which is not a verifier key (expected name+keyid+key, as ronctl kms list --vkeys prints it): ${why}`;
  return ` ${quotedUnlessSecret(text)}: ${why}`;
}
