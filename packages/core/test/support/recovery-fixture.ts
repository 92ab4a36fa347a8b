// A real WAL for the adapters' "ready before recovery" tests (issue 13 item 8), shared by the
// three adapter packages: written by a real engine, optionally damaged in its signed part, and a
// file layer whose WAL segment reads wait until the test lets recovery go on. A test thus sees an
// engine that is still recovering without racing a clock, and nothing of the engine is mocked.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { Registry } from 'prom-client';
import { createAudit, generateKey, nodeFileOps, type CreateAuditOptions, type FileOps } from '@ron-audit/core';

export interface WalFixture {
  readonly dir: string;
  readonly walDir: string;
  /** Engine options over this WAL (and an export beside it), an isolated environment; add `fileOps`. */
  options(extra?: CreateAuditOptions): CreateAuditOptions;
  /** Change record 1's seq in its WAL frame (CRC left wrong): damage before a signed checkpoint, so recovery refuses with AUDIT_WAL_CORRUPT. */
  damage(): Promise<void>;
  /** Names, sizes and SHA-256 of every file under the WAL and export directories: equal before and after means nothing was appended. */
  state(): Promise<string>;
  remove(): Promise<void>;
}

/** A WAL of `records` durable records and its export, written and closed by a real engine. */
export async function writtenWal(records = 12, origin = 'test.local/recovery'): Promise<WalFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ron-audit-recovery-'));
  const walDir = join(dir, 'wal');
  const exportDir = join(dir, 'export');
  const keystoreDir = join(dir, 'keys');
  await generateKey(keystoreDir, 'k');
  const options = (extra: CreateAuditOptions = {}): CreateAuditOptions => ({
    keystoreDir,
    keyId: 'k',
    origin,
    walEnabled: true,
    walDir,
    exportEnabled: true,
    exportDir,
    checkpointEvery: 1,
    env: {},
    ...extra,
  });
  const writer = createAudit({ ...options(), registry: new Registry() });
  await writer.ready();
  // One at a time: every record gets its own group commit and checkpoint frame after it.
  for (let i = 0; i < records; i++) await writer.emitDurable({ action: 'fixture.write', outcome: 'success', attributes: { i } });
  await writer.flush();
  await writer.close();

  async function segments(): Promise<string[]> {
    return (await readdir(walDir)).filter((n) => n.endsWith('.wal')).sort();
  }
  return {
    dir,
    walDir,
    options,
    async damage() {
      const [first] = await segments();
      if (first === undefined) throw new Error(`no WAL segment in ${walDir}`);
      const path = join(walDir, first);
      const buf = Buffer.from(await readFile(path));
      const at = buf.indexOf('"seq":1,');
      if (at < 0) throw new Error(`record 1 not found in ${path}`);
      buf[at + '"seq":'.length] = '7'.charCodeAt(0);
      await writeFile(path, buf);
    },
    async state() {
      const lines: string[] = [];
      const walk = async (d: string): Promise<void> => {
        for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
          const p = join(d, e.name);
          if (e.isDirectory()) await walk(p);
          else lines.push(`${p.slice(dir.length)} ${createHash('sha256').update(await readFile(p)).digest('hex')}`);
        }
      };
      await walk(walDir);
      await walk(exportDir);
      return lines.join('\n');
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface HeldRecovery {
  /** node:fs, except that reading a file under the WAL directory waits for release(). */
  readonly fileOps: FileOps;
  /** Resolves once recovery has asked for a WAL segment (and waits). */
  readonly reached: Promise<void>;
  release(): void;
}

export function heldRecovery(walDir: string): HeldRecovery {
  let release!: () => void;
  let reach!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const reached = new Promise<void>((r) => (reach = r));
  const under = resolve(walDir) + sep;
  return {
    reached,
    release: () => release(),
    fileOps: {
      ...nodeFileOps,
      readFile: async (path) => {
        if (resolve(path).startsWith(under)) {
          reach();
          await released;
        }
        return nodeFileOps.readFile(path);
      },
    },
  };
}
