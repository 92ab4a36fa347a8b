import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { keystore, tempDir } from '../../../test/helpers.js';
import { createAudit } from '../../create-audit.js';
import { verifyLog } from '../../verify/verify.js';

const CHILD = fileURLToPath(new URL('../../../test/fixtures/wal-child.mjs', import.meta.url));
const CYCLES = Number(process.env['RON_AUDIT_CRASH_CYCLES'] ?? 20);

/** Run the child until it has acked at least `minAcks` new records (or a short deadline), then SIGKILL it at a random moment. */
function runAndKill(walDir: string, keystoreDir: string, killAfterMs: number): Promise<{ acked: Map<string, number>; readySize: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, walDir, keystoreDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Map<string, number>();
    let readySize = -1;
    let buf = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const [kind, a, b] = line.split(' ');
        if (kind === 'ready') {
          readySize = Number(a);
          setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        } else if (kind === 'ack') acked.set(a!, Number(b));
      }
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`child exited ${code} ${signal}: ${stderr}`));
      else resolve({ acked, readySize });
    });
  });
}

describe('WAL crash test', () => {
  it(`loses no durably acknowledged record across ${CYCLES} SIGKILLs, and the log verifies after each`, async () => {
    const root = tempDir();
    const { keystoreDir } = await keystore(root);
    const walDir = join(root, 'wal');
    const allAcked = new Map<string, number>();
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 48271) % 2147483647;
      return seed % n;
    };
    let lastSize = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const { acked, readySize } = await runAndKill(walDir, keystoreDir, 20 + rnd(180));
      expect(readySize, `cycle ${cycle}: the child recovered at least what was there`).toBeGreaterThanOrEqual(lastSize);
      for (const [id, seq] of acked) allAcked.set(id, seq);

      const audit = createAudit({ walEnabled: true, walDir, keystoreDir, keyId: 'k', origin: 'test.local/crash', env: {}, memoryMaxBytes: 512 * 1024 * 1024 });
      await audit.ready();
      const snap = audit.snapshot();
      const report = verifyLog({ origin: snap.origin, records: snap.records, checkpoint: snap.checkpoint!, keys: [snap.verifierKey] });
      expect(report.ok, `cycle ${cycle}: ${report.failure?.message}`).toBe(true);
      const records = await audit.read();
      const ids = new Map(records.map((r) => [r.record['id'] as string, r.seq]));
      for (const [id, seq] of allAcked) expect(ids.get(id), `cycle ${cycle}: acked record ${id} (seq ${seq})`).toBe(seq);
      lastSize = audit.health().log.size;
      await audit.close();
    }
    expect(allAcked.size).toBeGreaterThan(CYCLES);
  }, 120_000);
});
