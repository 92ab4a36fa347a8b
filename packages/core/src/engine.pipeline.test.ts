import { afterEach, describe, expect, it } from 'vitest';
import { audit, cleanup, internals, keystoreWithKey, metricValue, readyAudit, TEST_KEY, TEST_ORIGIN } from '../test/support/engine.js';
import { parseCheckpoint } from './log/checkpoint.js';
import { genesis as genesisLink } from './log/chain.js';
import { leafHash } from './prim/hash.js';
import { toHex } from './prim/hex.js';
import { verifyInclusion } from './log/merkle.js';
import { localSigner, type Signer } from './sign/signer.js';
import { verifyLog } from './verify/verify.js';
import { recordingLogger } from '../test/support/engine.js';

afterEach(cleanup);

const event = (i: number) => ({ action: 'order.create', outcome: 'success' as const, actor: { id: `u-${i}` }, attributes: { n: i } });

describe('emit → bounded queue → appender → signed checkpoint', () => {
  it('appends every admitted record in order and signs one checkpoint per batch, not per record', async () => {
    const engine = await readyAudit({ queueDepth: 1000, batchMax: 100 });
    const reg = engine.metrics.registry;
    const checkpointsBefore = await metricValue(reg, 'audit_checkpoints_total');
    const ids = Array.from({ length: 1000 }, (_, i) => engine.emit(event(i)).id);
    await engine.flush();

    expect(await metricValue(reg, 'audit_appended_total')).toBe(1000);
    // 1000 records emitted in one tick drain as 10 batches of batchMax = 100: ten signatures.
    expect((await metricValue(reg, 'audit_checkpoints_total')) - checkpointsBefore).toBe(10);
    const bytesTotal = await metricValue(reg, 'audit_bytes_total');

    const records = await engine.read();
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(records.map((r) => r.record['id'])).toEqual(ids);
    expect(records.reduce((n, r) => n + r.bytes.length, 0)).toBe(bytesTotal);
    expect(engine.checkpoint()?.size).toBe(1000);
  });

  it('checkpoint count follows batches when records arrive one per tick', async () => {
    const engine = await readyAudit({ queueDepth: 16 });
    const reg = engine.metrics.registry;
    const before = await metricValue(reg, 'audit_checkpoints_total');
    for (let i = 0; i < 5; i++) {
      engine.emit(event(i));
      await engine.flush();
    }
    // Each flush waits for its own batch: five batches of one record, five checkpoints.
    expect((await metricValue(reg, 'audit_checkpoints_total')) - before).toBe(5);
  });

  it('covers every record by the newest signed checkpoint after flush(): inclusion proofs verify against the signed root', async () => {
    const engine = await readyAudit({ queueDepth: 64, batchMax: 7 });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 13; i++) engine.emit(event(round * 13 + i));
      if (round % 2 === 0) await new Promise((r) => setImmediate(r));
      else await engine.flush();
    }
    await engine.flush();
    const cp = engine.checkpoint()!;
    expect(cp.size).toBe(65);
    expect(engine.health().log).toMatchObject({ size: 65, checkpointSize: 65 });
    const signedRoot = parseCheckpoint(cp.note.slice(0, cp.note.lastIndexOf('\n\n') + 1)).root;
    const records = await engine.read();
    for (const r of records) {
      const { size, proof } = engine.prove(r.seq);
      expect(size).toBe(65);
      expect(() => verifyInclusion(r.seq, size, leafHash(r.bytes), proof, signedRoot)).not.toThrow();
    }
    const snap = engine.snapshot();
    const report = verifyLog({ origin: snap.origin, records: snap.records, checkpoint: snap.checkpoint!, keys: [snap.verifierKey] });
    expect(report).toMatchObject({ ok: true, verified: 65 });
  });

  it('occupancy counts records waiting to be appended and returns to zero once they are', async () => {
    const engine = await readyAudit({ queueDepth: 8 });
    for (let i = 0; i < 8; i++) engine.emit(event(i));
    expect(engine.health().queue).toEqual({ occupancy: 8, depth: 8, saturated: true });
    expect(await metricValue(engine.metrics.registry, 'audit_queue_depth')).toBe(8);
    await engine.flush();
    expect(engine.health().queue).toEqual({ occupancy: 0, depth: 8, saturated: false });
    expect(await metricValue(engine.metrics.registry, 'audit_queue_depth')).toBe(0);
  });

  it('signs records emitted before the key was loaded as soon as it is', async () => {
    const keystoreDir = await keystoreWithKey();
    const engine = audit({ keystoreDir, keyId: TEST_KEY, queueDepth: 8 });
    expect(engine.health().status).toBe('starting');
    const { id } = engine.emit(event(1));
    await engine.ready();
    await engine.flush();
    const [r] = await engine.read();
    expect(r?.record['id']).toBe(id);
    expect(engine.checkpoint()?.size).toBe(1);
  });

  it('flush() after a failed signature reports it once, then signs again instead of waiting forever', async () => {
    // A signer whose backend (a KMS, say) is down for a while: a real Ed25519 key behind a switch.
    const real = localSigner('kms-key', new Uint8Array(32).fill(9));
    let down = false;
    const signer: Signer = { alias: 'kms-key', publicKey: real.publicKey, sign: async (m) => (down ? Promise.reject(new Error('KMS unavailable')) : real.sign(m)) };
    const logger = recordingLogger();
    const engine = audit({ signer, logger, queueDepth: 4 });
    await engine.ready();
    await engine.flush();
    down = true;
    engine.emit(event(1));
    await expect(engine.flush()).rejects.toThrow('KMS unavailable');
    expect(logger.lines.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(engine.checkpoint()?.size).toBe(0);
    down = false;
    await engine.flush();
    expect(engine.checkpoint()?.size).toBe(1);
    expect(await engine.read()).toHaveLength(1);
  });

  it('chains record 0 to the genesis link of the configured origin', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    engine.emit(event(0));
    await engine.flush();
    const { log } = internals(engine);
    expect(log.origin).toBe(TEST_ORIGIN);
    const [r0] = await engine.read();
    expect(r0?.record['prev']).toBe(toHex(genesisLink(TEST_ORIGIN)));
    expect(engine.checkpoint()?.note.startsWith(`${TEST_ORIGIN}\n1\n`)).toBe(true);
  });
});
