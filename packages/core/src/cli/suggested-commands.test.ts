// Every ronctl command that a message of ours tells a person to run exists, takes the flags it is
// shown with, and — for the messages that end a dead end (no key, no keystore entry, a replayed
// export, a missing database schema) — does what it promises when run exactly as printed, with
// only its <placeholders> filled in.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createAudit } from '../create-audit.js';
import { generateKey } from '../sign/keystore.js';
import { buildRecords, ORIGIN, seed, vkeyOf, writeWal } from '../../test/support/export-log.js';
import { cleanup, tempDir } from '../../test/support/engine.js';
import { pgIt, PG_URL } from '../../test/support/pg.js';
import { main } from './ronctl.js';

afterAll(cleanup);

const SRC = fileURLToPath(new URL('..', import.meta.url));

async function ronctl(argv: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env, cwd });
  return { code, out, err };
}

/** The command a message suggests, as argv for main(): from "ronctl" to the end of the suggestion, placeholders filled. */
function suggested(message: string, fill: Record<string, string> = {}): string[] {
  const m = /(?:npx )?ronctl ((?:audit|kms|config|pg) [^)`\n;—]+)/.exec(message);
  if (m === null) throw new Error(`no ronctl command in: ${message}`);
  let cmd = m[1]!.trim();
  for (const [k, v] of Object.entries(fill)) cmd = cmd.split(k).join(v);
  expect(cmd, `placeholder left in "${cmd}"`).not.toMatch(/<[^>]+>|\bNAME\b/);
  return cmd.split(/\s+/);
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(c?ts)$/.test(name) && !name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('commands that messages suggest', () => {
  it('every "ronctl <group> <command> --flag…" in the sources names a command that exists and flags it takes', async () => {
    const cwd = await tempDir();
    const found = new Map<string, Set<string>>();
    for (const file of sources(SRC)) {
      for (const m of readFileSync(file, 'utf8').matchAll(/ronctl ((?:audit|kms|config|pg) [a-z][a-z-]*)((?: +(?:--[a-z-]+|[^\s`'")\]]+))*)/g)) {
        // `audit verify --pg URL …` is its own command (cli/pg.ts) with its own help.
        const key = / --pg\b/.test(m[2]!) ? `${m[1]!} --pg postgres://x` : m[1]!;
        const flags = found.get(key) ?? new Set<string>();
        for (const f of m[2]!.matchAll(/--[a-z][a-z-]*/g)) flags.add(f[0]);
        found.set(key, flags);
      }
    }
    expect(found.size).toBeGreaterThan(8);
    for (const [cmd, flags] of found) {
      const help = await ronctl([...cmd.split(' '), '--help'], cwd);
      expect(help.code, `ronctl ${cmd} --help: ${help.err}`).toBe(0);
      const text = help.out + help.err;
      for (const f of flags) if (f !== '--help') expect(text, `ronctl ${cmd} has no ${f}`).toContain(f);
    }
  });

  it('a missing signing key: the engine names the keygen command; run as printed, the next start is ready', async () => {
    const keystoreDir = join(await tempDir(), 'keys');
    const first = createAudit({ env: {}, keystoreDir, keyId: 'svc-key', origin: ORIGIN });
    const reason = await first.ready().then(() => '', (e: Error) => e.message);
    await first.close();
    const r = await ronctl(suggested(reason), '/');
    expect(r.code, r.err).toBe(0);
    const second = createAudit({ env: {}, keystoreDir, keyId: 'svc-key', origin: ORIGIN });
    await expect(second.ready()).resolves.toBeUndefined();
    await second.close();
  });

  it('AUDIT_PQ_SIGN without the ML-DSA-44 key: the engine names keygen --pq; run as printed, the engine signs with both', async () => {
    const keystoreDir = join(await tempDir(), 'keys');
    await generateKey(keystoreDir, 'k1');
    const first = createAudit({ env: {}, keystoreDir, keyId: 'k1', origin: ORIGIN, pqSign: true });
    const reason = await first.ready().then(() => '', (e: Error) => e.message);
    await first.close();
    expect(reason).toContain('--pq');
    const r = await ronctl(suggested(reason), '/');
    expect(r.code, r.err).toBe(0);
    const second = createAudit({ env: {}, keystoreDir, keyId: 'k1', origin: ORIGIN, pqSign: true });
    await second.ready();
    second.emit({ action: 'a', outcome: 'success' });
    await second.flush();
    expect(second.checkpoint()!.note.split('\n').filter((l) => l.startsWith('\u2014 '))).toHaveLength(2);
    await second.close();
  });

  it('an empty keystore: kms list names keygen; run as printed (NAME filled), the keystore lists the key', async () => {
    const cwd = await tempDir();
    const empty = await ronctl(['kms', 'list', '--keystore-dir', 'ks'], cwd);
    const r = await ronctl(suggested(empty.out, { NAME: 'first' }), cwd);
    expect(r.code, r.err).toBe(0);
    expect((await ronctl(['kms', 'list', '--keystore-dir', 'ks'], cwd)).out).toMatch(/^first\t/);
  });

  it('audit replay and kms rotate: the verify command they print next accepts the export', async () => {
    const cwd = await tempDir();
    const records = buildRecords(300);
    await writeWal(join(cwd, 'wal'), records, [100, 300]);
    const replay = await ronctl(['audit', 'replay', '--wal-dir', 'wal', '--export-dir', 'export'], cwd);
    expect(replay.code, replay.err).toBe(0);
    const next = await ronctl(suggested(replay.out.split('\n').find((l) => l.startsWith('next:'))!, { '<verifier key>': vkeyOf(seed(1)) }), cwd);
    expect(next.code, next.out).toBe(0);

    const rotate = await ronctl(['kms', 'rotate', '--key-alias', 'k2', '--keystore-dir', 'ks', '--origin', ORIGIN], cwd);
    expect(rotate.code, rotate.err).toBe(0);
    const check = await ronctl(suggested(rotate.out.split('\n').find((l) => l.includes('check:'))!, { '<dir>': 'export', '<trust root>': vkeyOf(seed(1)) }), cwd);
    expect(check.code, check.out).toBe(0);
  });

  pgIt('a missing PostgreSQL schema: the error names pg migrate; run as printed, the same verify then passes', async () => {
    const schema = `sugg_${process.pid}_${Date.now().toString(36)}`;
    const cwd = await tempDir();
    const before = await ronctl(['audit', 'verify', '--pg', PG_URL, '--schema', schema, '--key', vkeyOf(seed(1))], cwd);
    expect(before.code).not.toBe(0);
    const r = await ronctl(suggested(before.err, { '<owner URL>': PG_URL, '<schema>': schema }), cwd);
    expect(r.code, r.err).toBe(0);
    const after = await ronctl(['audit', 'verify', '--pg', PG_URL, '--schema', schema, '--key', vkeyOf(seed(1))], cwd);
    expect(after.code, after.out + after.err).toBe(0);
  });
});
