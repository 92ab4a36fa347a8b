import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, decode, heldRecords, internals, metricValue, readyAudit, recordingLogger, TEST_ORIGIN } from '../../test/support/engine.js';
import type { AuditEngine } from '../api.js';
import { AuditError } from '../errors.js';
import { createRedactor } from '../record/redact.js';
import { prepareEvent, uuidv7 } from '../record/record.js';
import { formatVerifierKey, parseVerifierKey } from '../sign/note.js';
import { localSigner, noteSignerFor } from '../sign/signer.js';
import { Appender } from './appender.js';
import { parseCheckpoint } from './checkpoint.js';
import { leafHash } from '../prim/hash.js';
import { leavesReader, rootOf, verifyInclusion } from './merkle.js';
import { MemoryLog, RECORD_OVERHEAD_BYTES, VerifyError, type VerifyFailureReason } from './memory.js';

afterEach(cleanup);

const MiB = 1024 * 1024;
const encoder = new TextEncoder();

function signedRoot(engine: AuditEngine): Uint8Array {
  const note = engine.checkpoint()!.note;
  return parseCheckpoint(note.slice(0, note.lastIndexOf('\n\n') + 1)).root;
}

/** Emit `n` records of varying size (so evictions fall on irregular indexes), flushing as the queue fills. */
async function fill(engine: AuditEngine, n: number, onFlush?: () => void): Promise<void> {
  for (let i = 0; i < n; i++) {
    if (engine.isSaturated()) {
      await engine.flush();
      onFlush?.();
    }
    engine.emit({ action: 'doc.write', outcome: 'success', attributes: { i, pad: 'p'.repeat((i * 7919) % 900) } });
  }
  await engine.flush();
  onFlush?.();
}

describe('Micronode memory bound', () => {
  it('holds at most memoryMaxBytes, evicts the oldest records, and refuses reads of evicted ones', async () => {
    const engine = await readyAudit({ queueDepth: 512, memoryMaxBytes: MiB });
    const { log } = internals(engine);
    let maxHeld = 0;
    await fill(engine, 6000, () => (maxHeld = Math.max(maxHeld, log.bytesHeld)));
    expect(maxHeld).toBeLessThanOrEqual(MiB);
    expect(log.size).toBe(6000);
    expect(log.firstRetained).toBeGreaterThan(0);
    const retained = await engine.read();
    expect(retained[0]?.seq).toBe(log.firstRetained);
    expect(retained.at(-1)?.seq).toBe(5999);
    // bytesHeld is exactly the bytes of what is held plus the per-record overhead.
    expect(log.bytesHeld).toBe(retained.reduce((n, r) => n + r.bytes.length + RECORD_OVERHEAD_BYTES, 0));

    for (const from of [0, log.firstRetained - 1]) {
      const err = await engine.read({ from }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuditError);
      expect((err as AuditError).code).toBe('AUDIT_RANGE_UNAVAILABLE');
    }
    expect(() => engine.prove(0)).toThrow(expect.objectContaining({ code: 'AUDIT_RANGE_UNAVAILABLE' }) as Error);
  });

  it('still verifies retained ranges after evictions at awkward indexes, and proves them against the signed root', async () => {
    const engine = await readyAudit({ queueDepth: 512, memoryMaxBytes: MiB });
    const { log } = internals(engine);
    const firsts = new Set<number>();
    await fill(engine, 9000, () => firsts.add(log.firstRetained));
    expect(firsts.size).toBeGreaterThan(2);
    expect([...firsts].some((f) => f > 0 && (f & (f - 1)) !== 0 && f % 2 === 1)).toBe(true);
    const first = log.firstRetained;
    const size = engine.checkpoint()!.size;
    const root = signedRoot(engine);
    for (const [from, to] of [
      [first, first],
      [first, first + 1],
      [first + 1, first + 2],
      [first + 3, first + 100],
      [size - 1, size - 1],
      [size - 513, size - 1],
    ] as const) {
      const got = await engine.read({ from, to });
      expect(got.map((r) => r.seq)).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
      for (const r of [got[0]!, got.at(-1)!]) {
        const { proof } = engine.prove(r.seq);
        expect(() => verifyInclusion(r.seq, size, leafHash(r.bytes), proof, root)).not.toThrow();
      }
    }
  });

  it('computes the same roots as an unevicted tree, whatever index eviction stops at', async () => {
    // Below the engine's 1 MiB minimum on purpose: a tiny bound evicts every few records.
    const seed = new Uint8Array(32).fill(7);
    const signer = localSigner('k', seed);
    const vkey = parseVerifierKey(formatVerifierKey(TEST_ORIGIN, signer.publicKey));
    const log = new MemoryLog(TEST_ORIGIN, 4096);
    const leaves: Uint8Array[] = [];
    const errors: unknown[] = [];
    const appender = new Appender(log, 3, {
      beforeSign: ({ firstSeq, records }) => {
        records.forEach((b, i) => (leaves[firstSeq + i] = leafHash(b)));
        return 'memory' as const;
      },
      onAppended() {},
      onCheckpoint() {},
      onError: (e) => errors.push(e),
    });
    appender.setSigner(noteSignerFor(TEST_ORIGIN, signer));
    const redactor = createRedactor(undefined);
    const evictedAt = new Set<number>();
    for (let i = 0; i < 300; i++) {
      appender.push(prepareEvent({ action: 'a', outcome: 'success', attributes: { pad: 'x'.repeat((i * 31) % 400) } }, redactor, uuidv7));
      if (i % 5 === 4) {
        await appender.idle();
        evictedAt.add(log.firstRetained);
        const got = log.read(log.firstRetained, Number.MAX_SAFE_INTEGER, [vkey]);
        expect(got.map((r) => r.seq)).toEqual(Array.from({ length: log.size - log.firstRetained }, (_, k) => log.firstRetained + k));
        expect(log.bytesHeld).toBeLessThanOrEqual(4096);
        expect(log.root()).toEqual(rootOf(leavesReader(leaves), log.size));
      }
    }
    expect(errors).toEqual([]);
    expect(evictedAt.size).toBeGreaterThan(50);
  });
});

describe('verify on read', () => {
  type Tamper = (text: string) => string;
  const cases: [string, VerifyFailureReason, Tamper][] = [
    ['a changed value', 'leaf_mismatch', (t) => t.replace('"outcome":"success"', '"outcome":"failure"')],
    ['a broken chain link', 'chain_broken', (t) => t.replace(/"prev":"(.)/, (_m, c: string) => `"prev":"${c === '0' ? '1' : '0'}`)],
    ['a wrong seq', 'bad_seq', (t) => t.replace(/"seq":(\d+)/, (_m, d: string) => `"seq":${Number(d) + 1}`)],
    ['a wrong version', 'bad_version', (t) => t.replace('"v":1}', '"v":2}')],
    ['whitespace', 'not_canonical', (t) => t.replace('{"action"', '{ "action"')],
    ['canonical JSON that is not an object', 'not_canonical', () => 'null'],
    ['a canonical array', 'not_canonical', () => '[1]'],
  ];

  it.each(cases)('a record with %s fails read() with AUDIT_VERIFY_FAILED (%s), counted and logged, and returns nothing', async (_name, reason, tamper) => {
    const logger = recordingLogger();
    const engine = await readyAudit({ queueDepth: 16, logger });
    for (let i = 0; i < 8; i++) engine.emit({ action: 'a', outcome: 'success', attributes: { i } });
    await engine.flush();
    const { log } = internals(engine);
    const records = heldRecords(log);
    const original = decode(records.get(5));
    const changed = tamper(original);
    expect(changed).not.toBe(original);
    records.set(5, encoder.encode(changed));

    let result: unknown;
    const err = await engine.read({ from: 0 }).then(
      (r) => ((result = r), undefined),
      (e: unknown) => e,
    );
    expect(result).toBeUndefined();
    expect(err).toBeInstanceOf(VerifyError);
    expect(err).toMatchObject({ code: 'AUDIT_VERIFY_FAILED', reason, seq: 5, details: { reason, seq: 5 } });
    expect(await metricValue(engine.metrics.registry, 'audit_verify_fail_total')).toBe(1);
    expect(logger.lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([`verify_fail seq=5 reason=${reason}`]);
    // Ranges that do not include the bad record still verify.
    expect(await engine.read({ from: 0, to: 4 })).toHaveLength(5);
  });

  it('a byte flipped in place is caught just the same', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    engine.emit({ action: 'a', outcome: 'success', actor: { id: 'alice' } });
    await engine.flush();
    const bytes = heldRecords(internals(engine).log).get(0);
    const at = decode(bytes).indexOf('alice');
    bytes[at] = 'm'.charCodeAt(0);
    await expect(engine.read()).rejects.toMatchObject({ code: 'AUDIT_VERIFY_FAILED', reason: 'leaf_mismatch', seq: 0 });
  });

  it('a tampered checkpoint note fails with signature_invalid', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    engine.emit({ action: 'a', outcome: 'success' });
    engine.emit({ action: 'b', outcome: 'success' });
    await engine.flush();
    const log = internals(engine).log as unknown as { latest: { note: string; size: number } };
    log.latest = { ...log.latest, note: log.latest.note.replace(`\n2\n`, '\n1\n') };
    await expect(engine.read()).rejects.toMatchObject({ code: 'AUDIT_VERIFY_FAILED', reason: 'signature_invalid', seq: undefined });
    expect(await metricValue(engine.metrics.registry, 'audit_verify_fail_total')).toBe(1);
  });

  it('a checkpoint signed by another key fails with signature_invalid', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    const other = await readyAudit({ queueDepth: 4 });
    engine.emit({ action: 'a', outcome: 'success' });
    other.emit({ action: 'a', outcome: 'success' });
    await Promise.all([engine.flush(), other.flush()]);
    const log = internals(engine).log as unknown as { latest: unknown };
    log.latest = other.checkpoint();
    await expect(engine.read()).rejects.toMatchObject({ code: 'AUDIT_VERIFY_FAILED', reason: 'signature_invalid' });
  });

  it('a held checkpoint that differs from its signed text fails with checkpoint_mismatch', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    engine.emit({ action: 'a', outcome: 'success' });
    engine.emit({ action: 'b', outcome: 'success' });
    await engine.flush();
    const log = internals(engine).log as unknown as { latest: { root: Uint8Array } };
    log.latest = { ...log.latest, root: new Uint8Array(32) };
    await expect(engine.read()).rejects.toMatchObject({ code: 'AUDIT_VERIFY_FAILED', reason: 'checkpoint_mismatch' });
  });

  it('bytes handed out by read() and snapshot() are copies: changing them does not change the log', async () => {
    const engine = await readyAudit({ queueDepth: 4 });
    engine.emit({ action: 'a', outcome: 'success' });
    await engine.flush();
    const [r] = await engine.read();
    r!.bytes.fill(0x20);
    engine.snapshot().records[0]!.fill(0x20);
    const [again] = await engine.read();
    expect(again?.record['action']).toBe('a');
  });
});
