import { readFile } from 'node:fs/promises';
import { parseVerifierKey } from '../sign/note.js';

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
  for (const k of out) {
    try {
      parseVerifierKey(k);
    } catch (err) {
      throw usage(`--key ${JSON.stringify(k.length > 80 ? `${k.slice(0, 80)}…` : k)}: ${(err as Error).message}`);
    }
  }
  return out;
}
