import { readFile } from 'node:fs/promises';
import { keyIdHex, parseVerifierKey } from '../sign/note.js';

/**
 * Trusted verifier keys given on the command line: `--key VKEY` (repeatable) and `--key-file FILE`
 * (one vkey per line, `#` comments). Every key is parsed here, so a typo is a usage error that
 * names the flag, not a verification failure later. Shared by every ronctl command that verifies.
 */
export async function keysFromFlags(keys: readonly string[], files: readonly string[], path: (file: string) => string, usage: (message: string) => Error): Promise<string[]> {
  const out = [...keys];
  for (const file of files) {
    for (const line of (await readFile(path(file), 'utf8')).split('\n')) {
      const t = line.trim();
      if (t.length > 0 && !t.startsWith('#')) out.push(t);
    }
  }
  // Format §6 rule 4: a trust list naming one (key name, key ID) twice is ambiguous, so it is a
  // usage error here rather than something the verdict could depend on.
  const seen = new Map<string, string>();
  for (const k of out) {
    const shown = JSON.stringify(k.length > 80 ? `${k.slice(0, 80)}…` : k);
    let id: string;
    try {
      const v = parseVerifierKey(k);
      id = `${v.name}+${keyIdHex(v.keyId)}`;
    } catch (err) {
      throw usage(`--key ${shown}: ${(err as Error).message}`);
    }
    if (seen.has(id)) throw usage(`--key ${shown}: the key ${id} is given twice${seen.get(id) === k ? '' : ' (two keys with one name and key ID)'}; a trust list must name each key once (docs/format.md §6)`);
    seen.set(id, k);
  }
  return out;
}
