// A small real filesystem for the disk-full drill: a tmpfs of a few MiB mounted on the sink's
// directory (root with CAP_SYS_ADMIN), else a loop-mounted ext4 image, else nothing (the drill
// then falls back to the engine's fault seam and says so). Every mount is undone when the drill
// ends, even when its time bound stops it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';

const mounted = new Set();
let hooked = false;

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || (r.error?.message ?? '') };
}

function remember(dir) {
  mounted.add(dir);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const d of mounted) sh('umount', ['-l', d]);
    });
  }
}

/**
 * Mount a `sizeKiB` filesystem on `dir`. Resolves { kind: 'tmpfs' | 'loop', grow(kib), unmount() }
 * or { kind: 'none', why } when this machine does not allow it.
 */
export function smallVolume(dir, sizeKiB) {
  mkdirSync(dir, { recursive: true });
  const why = [];
  const t = sh('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0750`, 'tmpfs', dir]);
  if (t.ok) {
    remember(dir);
    return {
      kind: 'tmpfs',
      describe: `tmpfs of ${sizeKiB} KiB (mount -t tmpfs -o size=${sizeKiB}k tmpfs ${dir})`,
      grow: (kib) => sh('mount', ['-o', `remount,size=${kib}k`, dir]).ok,
      unmount: () => {
        mounted.delete(dir);
        return sh('umount', [dir]).ok || sh('umount', ['-l', dir]).ok;
      },
    };
  }
  why.push(`tmpfs: ${t.out}`);
  const image = `${dir}.img`;
  const mk = sh('truncate', ['-s', `${sizeKiB}k`, image]);
  const fs = mk.ok ? sh('mkfs.ext4', ['-q', '-F', image]) : mk;
  const lo = fs.ok ? sh('mount', ['-o', 'loop', image, dir]) : fs;
  if (lo.ok) {
    remember(dir);
    return {
      kind: 'loop',
      describe: `loop-mounted ext4 image of ${sizeKiB} KiB (${image})`,
      // Space returns the runbook's way (§6.3: move to a healthy disk): copy the files out,
      // unmount, and put them back on the underlying filesystem.
      grow: () => {
        const keep = `${dir}.moved`;
        const ok = sh('cp', ['-a', `${dir}/.`, keep]).ok && (sh('umount', [dir]).ok || sh('umount', ['-l', dir]).ok);
        mounted.delete(dir);
        rmSync(image, { force: true });
        return ok && sh('cp', ['-a', `${keep}/.`, dir]).ok && (rmSync(keep, { recursive: true, force: true }), true);
      },
      unmount: () => {
        mounted.delete(dir);
        const ok = sh('umount', [dir]).ok || sh('umount', ['-l', dir]).ok;
        rmSync(image, { force: true });
        return ok;
      },
    };
  }
  rmSync(image, { force: true });
  why.push(`loop: ${lo.out}`);
  return { kind: 'none', why: why.join('; ') };
}
