import { constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { drillFileOps, parseDelay, parseFaultFile } from '../src/drill-faults.js';

/** The drill-only fault knob of the example (RON_AUDIT_DRILL_*), used by drills/. */
describe('drill fault seam (drill only)', () => {
  it('is off unless a RON_AUDIT_DRILL_* variable is set', () => {
    expect(drillFileOps({})).toBeUndefined();
  });

  it('reads "20", "20±10" and "20+-10", and refuses anything else', () => {
    expect(parseDelay('X', '20')).toEqual({ mean: 20, jitter: 0 });
    expect(parseDelay('X', '20±10')).toEqual({ mean: 20, jitter: 10 });
    expect(parseDelay('X', ' 20 +- 10 ')).toEqual({ mean: 20, jitter: 10 });
    for (const bad of ['', 'fast', '-5', '10±20', '20±']) expect(() => parseDelay('X', bad)).toThrow(/X=/);
  });

  it('reads fault files: an errno for every write or under one directory, an fsync delay; unknown lines are errors', () => {
    expect(parseFaultFile('ENOSPC\n')).toEqual({ errno: 'ENOSPC' });
    expect(parseFaultFile('# disk full\nEIO /var/lib/ron/audit/export\nfsync-delay-ms=20±10')).toEqual({ errno: 'EIO', under: '/var/lib/ron/audit/export', delay: { mean: 20, jitter: 10 } });
    expect(() => parseFaultFile('ENOSPACE')).toThrow(/unknown line/);
  });

  it('fails writes under the named directory only, while the fault file says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drill-faults-'));
    const faultFile = join(dir, 'fault');
    const ops = drillFileOps({ RON_AUDIT_DRILL_FAULT_FILE: faultFile })!;
    const flags = constants.O_WRONLY | constants.O_CREAT;
    const wal = await ops.open(join(dir, 'wal-segment'), flags, 0o600); // held open across the fault, like a WAL segment
    mkdirSync(join(dir, 'export'));
    writeFileSync(faultFile, `ENOSPC ${join(dir, 'export')}\n`);
    await new Promise((r) => setTimeout(r, 250)); // the file is polled every 100 ms
    await expect(ops.mkdir(join(dir, 'export', 'tile'), 0o750)).rejects.toMatchObject({ code: 'ENOSPC' });
    await expect(ops.open(join(dir, 'export', 'x'), flags, 0o600).then((h) => h.write(new Uint8Array(1)))).rejects.toMatchObject({ code: 'ENOSPC' });
    await expect(wal.write(new Uint8Array(1))).resolves.toMatchObject({ bytesWritten: 1 });
    writeFileSync(faultFile, `ENOSPC ${dir}\n`);
    await new Promise((r) => setTimeout(r, 250));
    await expect(wal.write(new Uint8Array(1))).rejects.toMatchObject({ code: 'ENOSPC' });
    await wal.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
