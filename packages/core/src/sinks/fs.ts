import { promises as fs, constants, readFile as readFileCb } from 'node:fs';
import { dirname } from 'node:path';
import { invalidArgument } from '../errors.js';

/**
 * The file layer every sink writes through. It is the seam for fault drills: `withFaults()`
 * wraps it to add latency to fsync or to fail writes with ENOSPC/EIO/EROFS, without patching Node.
 * All calls are promise-based (libuv thread pool), so fsync never runs on the event loop.
 */
export interface FileHandleLike {
  write(buffer: Uint8Array, offset?: number, length?: number, position?: number | null): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(len?: number): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

export interface FileOps {
  open(path: string, flags: string | number, mode?: number): Promise<FileHandleLike>;
  readFile(path: string): Promise<Uint8Array>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string, mode: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync a directory, so that a create or rename in it is durable. */
  syncDir(path: string): Promise<void>;
}

export const nodeFileOps: FileOps = {
  open: (path, flags, mode) => fs.open(path, flags, mode) as Promise<FileHandleLike>,
  // The callback API: fs.promises.readFile costs ~2x the main-thread time per file (it reads through a FileHandle).
  readFile: (path) =>
    new Promise((resolve, reject) => {
      readFileCb(path, (err, data) => (err ? reject(err) : resolve(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))));
    }),
  readdir: (path) => fs.readdir(path),
  mkdir: async (path, mode) => {
    await fs.mkdir(path, { recursive: true, mode });
  },
  rename: (from, to) => fs.rename(from, to),
  unlink: (path) => fs.unlink(path),
  async syncDir(path) {
    const h = await fs.open(path, constants.O_RDONLY);
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  },
};

export const DIR_MODE = 0o750;
export const FILE_MODE = 0o640;

const tempSuffix = (): string => `.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

/**
 * `bytes` into the temporary file `tmp`, flushed (`sync`: fsync, `datasync`: fdatasync), closed,
 * renamed to `path`. A failed step removes the temporary file (best effort: a failed write —
 * ENOSPC, EIO — must not leave one behind) and throws its error.
 */
async function writeRenamed(ops: FileOps, path: string, tmp: string, bytes: Uint8Array, flush: 'sync' | 'datasync'): Promise<void> {
  try {
    const h = await ops.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, FILE_MODE);
    try {
      let off = 0;
      while (off < bytes.length) off += (await h.write(bytes, off, bytes.length - off, null)).bytesWritten;
      await (flush === 'sync' ? h.sync() : h.datasync());
    } finally {
      await h.close();
    }
    await ops.rename(tmp, path);
  } catch (err) {
    await ops.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Write a file so that readers see the old content or the new, never a torn mix: temp, fsync, rename, fsync dir. */
export async function writeFileAtomic(ops: FileOps, path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  await ops.mkdir(dir, DIR_MODE);
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  await writeRenamed(ops, path, `${path}${tempSuffix()}`, bytes, 'sync');
  await ops.syncDir(dir);
}

/**
 * Write many files so that each is seen whole or not at all, and all of them are durable when
 * the promise resolves — with one directory fsync per directory, not one per file (the export
 * publishes ~2 files per 256 records, and the per-file directory fsync was half of what a
 * publication cost: docs/performance.md, "Export publication"). Per file: temp, write,
 * fdatasync (a new file: its size and blocks are flushed with the data), close, rename; then each
 * directory once: fsync. Up to `concurrency` files are in flight. On a failure the failing file's
 * temporary is removed and the first error is thrown once every file in flight has settled;
 * files already renamed stay (each is whole), and nothing is claimed durable.
 */
export async function writeFilesAtomic(ops: FileOps, files: readonly (readonly [string, Uint8Array])[], concurrency: number): Promise<void> {
  if (!Array.isArray(files)) throw invalidArgument('files', 'an array of [path, bytes]', files);
  const seen = new Set<string>();
  files.forEach((f, i) => {
    if (!Array.isArray(f) || typeof f[0] !== 'string' || f[0].length === 0 || !(f[1] instanceof Uint8Array)) throw invalidArgument(`files[${i}]`, '[a file path, Uint8Array]', f);
    if (seen.has(f[0])) throw invalidArgument(`files[${i}]`, 'a path not listed twice', f[0]);
    seen.add(f[0]);
  });
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw invalidArgument('concurrency', 'an integer ≥ 1', concurrency);
  const dirs = [...new Set(files.map(([path]) => dirname(path)))];
  for (const dir of dirs) await ops.mkdir(dir, DIR_MODE);
  const suffix = tempSuffix();
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < files.length && failure === undefined) {
      const [path, bytes] = files[next++]!;
      try {
        await writeRenamed(ops, path, path + suffix, bytes, 'datasync');
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, files.length)) }, worker));
  if (failure !== undefined) throw failure.err;
  for (const dir of dirs) await ops.syncDir(dir);
}

export interface FaultPlan {
  /** Extra delay added to every datasync/sync, in ms (a function may return jitter). */
  fsyncDelayMs?: number | (() => number);
  /** When it returns an errno code ('ENOSPC', 'EIO', 'EROFS'), writes fail with it. */
  writeError?: () => string | undefined;
}

function errnoError(code: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: injected fault`) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

/** The fault seam used by drills and tests. */
export function withFaults(base: FileOps, plan: FaultPlan): FileOps {
  const delay = async (): Promise<void> => {
    const ms = typeof plan.fsyncDelayMs === 'function' ? plan.fsyncDelayMs() : (plan.fsyncDelayMs ?? 0);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  };
  const check = (): void => {
    const code = plan.writeError?.();
    if (code) throw errnoError(code);
  };
  return {
    ...base,
    async open(path, flags, mode) {
      const h = await base.open(path, flags, mode);
      return {
        async write(buffer, offset, length, position) {
          check();
          return h.write(buffer, offset, length, position);
        },
        async datasync() {
          await delay();
          return h.datasync();
        },
        async sync() {
          await delay();
          return h.sync();
        },
        truncate: (len) => h.truncate(len),
        stat: () => h.stat(),
        close: () => h.close(),
      };
    },
    async rename(from, to) {
      check();
      return base.rename(from, to);
    },
    async mkdir(path, m) {
      check();
      return base.mkdir(path, m);
    },
  };
}
