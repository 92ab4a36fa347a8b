// DRILL ONLY — never set these variables in production. They put the engine's file layer behind
// the fault seam of @ron-audit/core (withFaults over nodeFileOps), so the chaos drills in drills/
// can slow or fail the WAL and export disks of this service without patching Node.
//
//   RON_AUDIT_DRILL_FSYNC_DELAY_MS=20±10   add 10–30 ms (uniform) to every fsync from start
//                                          ("20" for a fixed delay; "20+-10" also accepted)
//   RON_AUDIT_DRILL_FAULT_FILE=/path       polled every 100 ms; while the file exists its lines
//                                          decide the fault: "ENOSPC" (or "EIO", "EROFS") fails
//                                          every write, "ENOSPC /dir" only writes under /dir (one
//                                          sink's volume), "fsync-delay-ms=20±10" delays every
//                                          fsync. Remove the file (or empty it) to end the fault.
//
// The fault file lets a drill open and close a fault window on a running service under load.
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { nodeFileOps, withFaults } from '@ron-audit/core';

export const DRILL_POLL_MS = 100;
const ERRNOS = new Set(['ENOSPC', 'EIO', 'EROFS']);

/** "20", "20±10" or "20+-10" → { mean, jitter } in ms; throws on anything else. */
export function parseDelay(name, text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:(?:±|\+-)\s*(\d+(?:\.\d+)?))?\s*$/.exec(text);
  if (!m) throw new Error(`${name}=${JSON.stringify(text)} is invalid: expected milliseconds like "20" or "20±10"`);
  const mean = Number(m[1]);
  const jitter = m[2] === undefined ? 0 : Number(m[2]);
  if (jitter > mean) throw new Error(`${name}=${JSON.stringify(text)} is invalid: the jitter must not exceed the mean`);
  return { mean, jitter };
}

/** The fault a fault file describes: { errno?, under?, delay? }. Unknown lines are an error, not ignored. */
export function parseFaultFile(text) {
  const fault = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [word, dir, extra] = line.split(/\s+/);
    if (ERRNOS.has(word) && extra === undefined) {
      fault.errno = word;
      if (dir !== undefined) fault.under = resolve(dir);
    } else if (line.startsWith('fsync-delay-ms=')) fault.delay = parseDelay('fsync-delay-ms', line.slice('fsync-delay-ms='.length));
    else throw new Error(`drill fault file: unknown line ${JSON.stringify(line)} (expected ENOSPC, EIO or EROFS [DIR], or fsync-delay-ms=N[±J])`);
  }
  return fault;
}

const sample = ({ mean, jitter }) => mean + (Math.random() * 2 - 1) * jitter;

/**
 * The engine's `fileOps` for a drill, or undefined when no drill variable is set (the normal
 * case: the engine then uses node:fs directly). `onChange(description)` is told when the fault
 * file's fault changes, so the service can log it.
 */
export function drillFileOps(env = process.env, onChange = () => undefined) {
  const fixed = env.RON_AUDIT_DRILL_FSYNC_DELAY_MS ? parseDelay('RON_AUDIT_DRILL_FSYNC_DELAY_MS', env.RON_AUDIT_DRILL_FSYNC_DELAY_MS) : undefined;
  const file = env.RON_AUDIT_DRILL_FAULT_FILE || undefined;
  if (fixed === undefined && file === undefined) return undefined;
  let current = {};
  let shown = '';
  if (file !== undefined) {
    const poll = async () => {
      let next = {};
      try {
        next = parseFaultFile(await readFile(file, 'utf8'));
      } catch (err) {
        if (err.code !== 'ENOENT') console.error(`drill fault file ${file}: ${err.message}`);
      }
      current = next;
      const desc = [next.errno && `${next.errno}${next.under ? ` under ${next.under}` : ''}`, next.delay && `fsync +${next.delay.mean}±${next.delay.jitter} ms`].filter(Boolean).join(', ') || 'none';
      if (desc !== shown) {
        shown = desc;
        onChange(desc);
      }
    };
    void poll();
    setInterval(() => void poll(), DRILL_POLL_MS).unref();
  }
  const fsyncDelayMs = () => (current.delay ? sample(current.delay) : 0) + (fixed ? sample(fixed) : 0);
  const hits = (path) => current.errno !== undefined && (current.under === undefined || resolve(path) === current.under || resolve(path).startsWith(current.under + sep));
  // One withFaults per call, so that its writeError knows the file it guards: a WAL segment held
  // open since before the fault starts failing the moment the fault file names its directory.
  const seam = (path) => withFaults(nodeFileOps, { fsyncDelayMs, writeError: () => (hits(path) ? current.errno : undefined) });
  return {
    ...nodeFileOps,
    open: (path, flags, mode) => seam(path).open(path, flags, mode),
    rename: (from, to) => seam(to).rename(from, to),
    mkdir: (path, mode) => seam(path).mkdir(path, mode),
  };
}
