import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditError } from '../errors.js';
import { cleanup, tempDir } from '../../test/support/engine.js';
import { FILE_MODE, nodeFileOps, withFaults, writeFilesAtomic, type FileOps } from './fs.js';

afterAll(cleanup);

/** Every file under dir, recursively, relative to it. */
async function tree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await tree(dir, p)));
    else out.push(p);
  }
  return out.sort();
}

function counting(base: FileOps): { ops: FileOps; calls: Record<string, string[]> } {
  const calls: Record<string, string[]> = { syncDir: [], mkdir: [], datasync: [], sync: [] };
  const ops: FileOps = {
    ...base,
    async open(path, flags, mode) {
      const h = await base.open(path, flags, mode);
      return {
        ...h,
        write: (b, o, l, p) => h.write(b, o, l, p),
        datasync: () => (calls['datasync']!.push(path), h.datasync()),
        sync: () => (calls['sync']!.push(path), h.sync()),
        truncate: (len) => h.truncate(len),
        stat: () => h.stat(),
        close: () => h.close(),
      };
    },
    mkdir: (path, mode) => (calls['mkdir']!.push(path), base.mkdir(path, mode)),
    syncDir: (path) => (calls['syncDir']!.push(path), base.syncDir(path)),
  };
  return { ops, calls };
}

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

describe('writeFilesAtomic', () => {
  it('writes every file whole, 0640, leaves no temporary file, and syncs each directory once, after the renames', async () => {
    const dir = await tempDir();
    const files = [
      [join(dir, 'tile/0/000'), bytes(8192, 1)],
      [join(dir, 'tile/0/001'), bytes(8192, 2)],
      [join(dir, 'tile/entries/000'), bytes(140_000, 3)],
      [join(dir, 'tile/entries/001.p/7'), bytes(700, 4)],
      [join(dir, 'tile/0/002'), bytes(0, 0)],
    ] as const;
    const { ops, calls } = counting(nodeFileOps);
    await writeFilesAtomic(ops, files, 3);
    expect(await tree(dir)).toEqual(['tile/0/000', 'tile/0/001', 'tile/0/002', 'tile/entries/000', 'tile/entries/001.p/7']);
    for (const [path, b] of files) {
      expect(new Uint8Array(await readFile(path))).toEqual(b);
      expect((await stat(path)).mode & 0o777).toBe(FILE_MODE);
    }
    const dirs = [join(dir, 'tile/0'), join(dir, 'tile/entries'), join(dir, 'tile/entries/001.p')];
    expect(calls['mkdir']!.sort()).toEqual([...dirs].sort());
    expect(calls['syncDir']!.sort()).toEqual([...dirs].sort());
    expect(calls['datasync']).toHaveLength(files.length);
    expect(calls['sync']).toEqual([]);
  });

  it('replaces an existing file atomically: a reader sees the old bytes or the new', async () => {
    const dir = await tempDir();
    const path = join(dir, 'a/b');
    await writeFilesAtomic(nodeFileOps, [[path, bytes(100, 1)]], 1);
    await writeFilesAtomic(nodeFileOps, [[path, bytes(50, 2)]], 1);
    expect(new Uint8Array(await readFile(path))).toEqual(bytes(50, 2));
    expect(await tree(dir)).toEqual(['a/b']);
  });

  it('on a write failure rejects with the errno error, removes the temporary files and syncs no directory', async () => {
    const dir = await tempDir();
    let writes = 0;
    const faulty = withFaults(nodeFileOps, { writeError: () => (++writes === 3 ? 'ENOSPC' : undefined) });
    const { ops, calls } = counting(faulty);
    const files = Array.from({ length: 6 }, (_, i) => [join(dir, `t/${i}`), bytes(10, i)] as const);
    await expect(writeFilesAtomic(ops, files, 2)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect((await tree(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(calls['syncDir']).toEqual([]);
    // What was renamed before the failure is whole.
    for (const f of await tree(dir)) expect(new Uint8Array(await readFile(join(dir, f)))).toEqual(bytes(10, Number(f.slice(2))));
  });

  it('an empty list writes nothing and syncs nothing', async () => {
    const { ops, calls } = counting(nodeFileOps);
    await writeFilesAtomic(ops, [], 8);
    expect(Object.values(calls).flat()).toEqual([]);
  });

  it('refuses wrong input with AUDIT_INVALID_ARGUMENT before touching the disk', async () => {
    const dir = await tempDir();
    const { ops, calls } = counting(nodeFileOps);
    const good = [join(dir, 'x'), bytes(1, 1)] as const;
    const cases: [unknown, unknown][] = [
      [null, 1],
      ['x', 1],
      [[['', bytes(1, 1)]], 1],
      [[[join(dir, 'y'), 'text']], 1],
      [[[join(dir, 'y')]], 1],
      [[good, good], 1], // the same path twice
      [[good], 0],
      [[good], 1.5],
      [[good], Number.NaN],
      [[good], '8'],
    ];
    for (const [files, concurrency] of cases) {
      const err = await writeFilesAtomic(ops, files as never, concurrency as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify([files, concurrency])).toBeInstanceOf(AuditError);
      expect((err as AuditError).code).toBe('AUDIT_INVALID_ARGUMENT');
    }
    expect(Object.values(calls).flat()).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });
});
