import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { keystore, tempDir } from '../../test/helpers.js';
import { main as ronctl } from '../cli/ronctl.js';
import { createAudit, logsOf } from '../create-audit.js';
import type { AuditEngine, CreateAuditOptions } from '../api.js';
import { AuditError } from '../errors.js';
import { localSigner } from '../sign/signer.js';
import { nodeFileOps } from '../sinks/fs.js';
import { readWal } from '../sinks/wal/reader.js';
import { verifyLog } from '../verify/verify.js';
import { verifyPg } from '../verify/pg.js';
import { freshDb, pgIt, PG_URL } from '../../test/support/pg.js';
import type { LanedEngine } from './laned.js';

/**
 * Worker lanes (AUDIT_WORKERS > 0): real worker threads running the built lane worker, real key
 * files, real WAL files with fsync. Each lane's log is checked by the same verifier a stranger
 * would use, from its snapshot or from its WAL directory.
 */

const ORIGIN = 'lanes.test.example/svc/1';
const open: AuditEngine[] = [];

async function laned(options: CreateAuditOptions & { root?: string } = {}): Promise<{ audit: AuditEngine; registry: Registry; root: string; keys: { keystoreDir: string; keyId: string } }> {
  const root = options.root ?? tempDir();
  const keys = await keystore(root);
  const registry = new Registry();
  const { root: _r, ...rest } = options;
  const audit = createAudit({ ...keys, workers: 2, origin: ORIGIN, env: {}, registry, ...rest });
  open.push(audit);
  return { audit, registry, root, keys };
}

async function counter(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const values = (await m.get()).values as { labels: Record<string, string | number>; value: number; metricName?: string }[];
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

/** Every record and the newest checkpoint of a lane's WAL directory. */
async function walLog(dir: string): Promise<{ records: Uint8Array[]; checkpoint: string | undefined }> {
  const records: Uint8Array[] = [];
  let checkpoint: string | undefined;
  for await (const e of readWal(dir)) {
    if (e.type === 'record') records.push(e.bytes);
    else if (e.type === 'checkpoint') checkpoint = new TextDecoder().decode(e.bytes);
  }
  return { records, checkpoint };
}

const event = (i: number) => ({ action: 'order.create', outcome: 'success' as const, actor: { id: `u-${i}` }, attributes: { i } });

afterEach(async () => {
  await Promise.all(open.splice(0).map((a) => a.close({ timeoutMs: 0 }).catch(() => undefined)));
});

describe('worker lanes, Micronode', () => {
  it('spreads records over the lanes, each lane its own verifiable log named <origin>/lane-<i>', async () => {
    const { audit, registry } = await laned();
    await audit.ready();
    expect(audit.lanes.map((l) => l.origin)).toEqual([`${ORIGIN}/lane-0`, `${ORIGIN}/lane-1`]);
    for (let i = 0; i < 500; i++) audit.emit(event(i));
    await audit.flush();

    const h = audit.health();
    expect(h).toMatchObject({ ready: true, status: 'ready', log: { origin: ORIGIN, size: 500, checkpointSize: 500 } });
    expect(h.lanes).toHaveLength(2);
    for (const l of h.lanes!) {
      expect(l.size).toBeGreaterThan(0);
      expect(l).toMatchObject({ status: 'ready', checkpointSize: l.size, inFlight: 0 });
    }
    expect(await counter(registry, 'audit_appended_total')).toBe(500);
    expect(h.queue.occupancy).toBe(0);

    const seen = new Set<number>();
    for (const lane of audit.lanes) {
      const s = await lane.snapshot();
      expect(s.origin).toBe(lane.origin);
      const report = verifyLog({ origin: s.origin, records: s.records, checkpoint: s.checkpoint!, keys: [lane.verifierKey()] });
      expect(report).toMatchObject({ ok: true, verified: s.records.length });
      const read = await lane.read();
      expect(read.map((r) => r.seq)).toEqual(read.map((_, i) => i));
      for (const r of read) seen.add((r.record['attributes'] as { i: number }).i);
      expect(lane.checkpoint()?.size).toBe(s.records.length);
      const proof = await lane.prove(0);
      expect(proof.size).toBe(s.records.length);
    }
    // Every emitted record is in exactly one lane.
    expect(seen.size).toBe(500);
  });

  it('emit keeps its synchronous typed errors, counted, and nothing reaches a lane', async () => {
    const { audit, registry } = await laned();
    await audit.ready();
    expect(() => audit.emit({ action: '', outcome: 'success' })).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_EVENT' }));
    expect(() => audit.emit({ action: 'big', outcome: 'success', attributes: { blob: 'x'.repeat(70_000) } })).toThrow(expect.objectContaining({ code: 'AUDIT_RECORD_TOO_LARGE' }));
    expect(() => audit.emit(null as never)).toThrow(AuditError);
    await audit.flush();
    expect(await counter(registry, 'audit_drop_total', { reason: 'invalid' })).toBe(2);
    expect(await counter(registry, 'audit_drop_total', { reason: 'too_large' })).toBe(1);
    expect(audit.health().log.size).toBe(0);
  });

  it('one bounded queue over all lanes: a burst past AUDIT_QUEUE_DEPTH is shed synchronously and counted, emitted = appended + dropped', async () => {
    const { audit, registry } = await laned({ queueDepth: 64 });
    await audit.ready();
    let ok = 0;
    let shed = 0;
    for (let i = 0; i < 300; i++) {
      try {
        audit.emit(event(i));
        ok++;
      } catch (err) {
        expect(err).toMatchObject({ code: 'AUDIT_QUEUE_FULL' });
        shed++;
      }
    }
    expect(ok).toBe(64);
    expect(audit.isSaturated()).toBe(true);
    await audit.flush();
    expect(audit.isSaturated()).toBe(false);
    expect(await counter(registry, 'audit_appended_total')).toBe(ok);
    expect(await counter(registry, 'audit_drop_total', { reason: 'audit_backpressure' })).toBe(shed);
    expect(await counter(registry, 'busy_rejections_total', { endpoint: 'emit' })).toBe(shed);
    expect(await counter(registry, 'audit_queue_depth')).toBe(0);
  });

  it('reserved slots: an invalid event is recorded reduced, an oversized one reduced with the full record’s size and hash; every lane verifies', async () => {
    const { audit } = await laned();
    await audit.ready();
    const bad = audit.reserve();
    bad.commit({ action: 'x', outcome: 'nope' as never });
    const big = audit.reserve();
    big.commit({ action: 'upload', outcome: 'success', attributes: { blob: 'y'.repeat(70_000) } });
    const fine = audit.reserve();
    const receipt = await fine.commitDurable({ action: 'ok', outcome: 'success' });
    expect(receipt).toMatchObject({ id: fine.id, durable: false });
    expect([0, 1]).toContain(receipt.lane);
    audit.reserve().release();
    await audit.flush();
    expect(audit.health().queue.occupancy).toBe(0);

    const records = (await Promise.all(audit.lanes.map((l) => l.read()))).flat().map((r) => r.record);
    const byId = new Map(records.map((r) => [r['id'], r]));
    expect(byId.get(bad.id)?.['annotations']).toMatchObject({ 'ron-audit.invalid': expect.stringContaining('outcome') });
    const oversize = (byId.get(big.id)?.['annotations'] as Record<string, string>)['ron-audit.oversize'];
    expect(oversize).toMatch(/^\d{5,}:[0-9a-f]{64}$/);
    expect(Number(oversize.split(':')[0])).toBeGreaterThan(70_000);
    expect(byId.get(fine.id)).toMatchObject({ action: 'ok' });
    for (const lane of audit.lanes) {
      const s = await lane.snapshot();
      expect(verifyLog({ origin: s.origin, records: s.records, checkpoint: s.checkpoint!, keys: [lane.verifierKey()] }).ok).toBe(true);
    }
  });

  it('per-log calls on the engine name the lanes instead of answering for one of them', async () => {
    const { audit } = await laned();
    await audit.ready();
    for (const call of [() => audit.checkpoint(), () => audit.prove(0), () => audit.verifierKey(), () => audit.snapshot()]) {
      expect(call).toThrow(expect.objectContaining({ code: 'AUDIT_LANED', message: expect.stringContaining('engine.lanes[i]') }));
    }
    await expect(audit.read()).rejects.toMatchObject({ code: 'AUDIT_LANED' });
    await expect(audit.lanes[0]!.read(null as never)).rejects.toMatchObject({ code: 'AUDIT_INVALID_ARGUMENT' });
    await expect(audit.lanes[0]!.prove(10_000)).rejects.toMatchObject({ code: 'AUDIT_RANGE_UNAVAILABLE' });
  });

  it('refuses what cannot cross into a worker thread (a signer object, a file layer) and an origin too long for lane names', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    const signer = localSigner('k', new Uint8Array(32).fill(7));
    expect(() => createAudit({ ...keys, workers: 2, env: {}, signer })).toThrow(expect.objectContaining({ code: 'AUDIT_CONFIG_INVALID', message: expect.stringContaining('signer') }));
    expect(() => createAudit({ ...keys, workers: 2, env: {}, fileOps: nodeFileOps })).toThrow(expect.objectContaining({ code: 'AUDIT_CONFIG_INVALID', message: expect.stringContaining('fileOps') }));
    expect(() => createAudit({ ...keys, workers: 2, env: {}, origin: `a/${'b'.repeat(252)}` })).toThrow(expect.objectContaining({ code: 'AUDIT_CONFIG_INVALID', message: expect.stringContaining('lane') }));
    // Disabled auditing starts no lanes at all.
    const off = createAudit({ ...keys, workers: 2, enabled: false, env: {} });
    expect(off.lanes).toEqual([]);
    await off.close();
  });

  it('a missing key: every lane not ready, ready() rejects naming the lane, emits refused and counted', async () => {
    const root = tempDir();
    const registry = new Registry();
    const audit = createAudit({ keystoreDir: join(root, 'nokeys'), keyId: 'absent', workers: 2, origin: ORIGIN, env: {}, registry });
    open.push(audit);
    await expect(audit.ready()).rejects.toMatchObject({ code: 'AUDIT_KEY_UNAVAILABLE', message: expect.stringMatching(/^lane \d: /) });
    const h = audit.health();
    expect(h).toMatchObject({ ready: false, status: 'not_ready' });
    expect(h.reasons.map((r) => r.code)).toEqual(['AUDIT_KEY_UNAVAILABLE', 'AUDIT_KEY_UNAVAILABLE']);
    expect(() => audit.emit(event(1))).toThrow(expect.objectContaining({ code: 'AUDIT_NOT_READY' }));
    expect(await counter(registry, 'audit_drop_total', { reason: 'not_ready' })).toBe(1);
  });

  it('reload: admission knobs change on the main thread, batch knobs in every lane, the rest is refused changing nothing', async () => {
    const { audit } = await laned({ queueDepth: 100 });
    await audit.ready();
    expect(await audit.reload({ queueDepth: 200, batchMax: 64 })).toEqual({ changed: ['queueDepth', 'batchMax'] });
    expect(audit.health().queue.depth).toBe(200);
    expect(audit.config.batchMax).toBe(64);
    await expect(audit.reload({ workers: 3 })).rejects.toMatchObject({ code: 'AUDIT_CONFIG_INVALID', message: expect.stringContaining('workers') });
    await expect(audit.reload({ keyId: 'nope' })).rejects.toMatchObject({ code: 'AUDIT_KEY_UNAVAILABLE' });
    expect(audit.config.workers).toBe(2);
    for (let i = 0; i < 10; i++) audit.emit(event(i));
    await audit.flush();
    expect(audit.health().log.size).toBe(10);
  });
});

describe('worker lanes, Macronode', () => {
  it('each lane writes its own WAL under <AUDIT_WAL_DIR>/lane-<i>; durable acks name the lane; close drains; a restart adopts each lane’s log and continues it', async () => {
    const root = tempDir();
    const walDir = join(root, 'wal');
    const first = await laned({ root, walEnabled: true, walDir, origin: undefined });
    await first.audit.ready();
    const acks = await Promise.all(Array.from({ length: 40 }, (_, i) => first.audit.emitDurable(event(i))));
    expect(acks.every((a) => a.durable && (a.lane === 0 || a.lane === 1))).toBe(true);
    for (let i = 40; i < 300; i++) first.audit.emit(event(i));
    expect(await counter(first.registry, 'wal_fsync_seconds')).toBeGreaterThanOrEqual(0);
    const origins = first.audit.lanes.map((l) => l.origin);
    const vkeys = first.audit.lanes.map((l) => l.verifierKey());
    await first.audit.close();
    const fsyncs = (await first.registry.getSingleMetric('wal_fsync_seconds')!.get()).values.find((v) => v.metricName === 'wal_fsync_seconds_count')?.value ?? 0;
    expect(fsyncs).toBeGreaterThan(0);
    expect(await counter(first.registry, 'audit_appended_total')).toBe(300);

    let total = 0;
    for (let i = 0; i < 2; i++) {
      const dir = join(walDir, `lane-${i}`);
      expect(existsSync(dir)).toBe(true);
      const { records, checkpoint } = await walLog(dir);
      expect(verifyLog({ origin: origins[i]!, records, checkpoint: checkpoint!, keys: [vkeys[i]!] })).toMatchObject({ ok: true, verified: records.length });
      total += records.length;
    }
    expect(total).toBe(300);

    // Restart without an explicit origin: each lane adopts the origin in its WAL and continues its chain.
    const again = createAudit({ ...first.keys, workers: 2, walEnabled: true, walDir, env: {}, registry: new Registry() });
    open.push(again);
    await again.ready();
    expect(again.lanes.map((l) => l.origin)).toEqual(origins);
    const sizes = again.health().lanes!.map((l) => l.size);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(300);
    for (let i = 0; i < 20; i++) again.emit(event(1000 + i));
    await again.close();
    for (let i = 0; i < 2; i++) {
      const { records, checkpoint } = await walLog(join(walDir, `lane-${i}`));
      expect(verifyLog({ origin: origins[i]!, records, checkpoint: checkpoint!, keys: [vkeys[i]!] }).ok).toBe(true);
    }
  });

  it('changing AUDIT_WORKERS between starts: the logs no longer continued are left alone, and the start says which', async () => {
    const root = tempDir();
    const keys = await keystore(root);
    const walDir = join(root, 'wal');
    const lines: string[] = [];
    const logger = { info: () => undefined, warn: (_o: object, m?: string) => void lines.push(m ?? ''), error: () => undefined };
    const start = async (workers: number) => {
      const a = createAudit({ ...keys, workers, walEnabled: true, walDir, env: {}, registry: new Registry(), logger });
      open.push(a);
      await a.ready();
      a.emit(event(workers));
      await a.close();
    };
    await start(0);
    expect(lines).toEqual([]);
    await start(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`will not be continued with AUDIT_WORKERS=2`);
    expect(lines[0]).toContain(walDir);
    lines.length = 0;
    await start(1);
    expect(lines[0]).toContain(join(walDir, 'lane-1'));
    expect(lines[0]).not.toContain(join(walDir, 'lane-0'));
    lines.length = 0;
    await start(0);
    expect(lines[0]).toContain(join(walDir, 'lane-0'));
    // Nothing was moved or rewritten: the in-thread log holds its two records, lane 0 its two.
    expect((await walLog(walDir)).records).toHaveLength(2);
    expect((await walLog(join(walDir, 'lane-0'))).records).toHaveLength(2);
  });

  it('a lane that dies: the engine is not ready with AUDIT_WORKER_FAILED, its unfinished records are counted and their durable acks rejected, the host keeps running', async () => {
    const root = tempDir();
    const { audit, registry } = await laned({ root, walEnabled: true, walDir: join(root, 'wal'), walWindowMs: 50 });
    await audit.ready();
    const pending = Array.from({ length: 50 }, (_, i) => audit.emitDurable(event(i)).then((r) => r, (err: unknown) => err));
    // Stop lane 1 the way a crash does, in the same turn: its records have not even reached it.
    const stopped = (audit as unknown as LanedEngine).workerOf(1)!.terminate();
    const settled = await Promise.all(pending);
    await stopped;
    const failed = settled.filter((r) => r instanceof AuditError);
    for (const f of failed) expect(f).toMatchObject({ code: 'AUDIT_WORKER_FAILED' });
    const h = audit.health();
    expect(h).toMatchObject({ ready: false, status: 'not_ready' });
    expect(h.reasons[0]).toMatchObject({ code: 'AUDIT_WORKER_FAILED', message: expect.stringContaining('lane 1') });
    expect(h.lanes![1]!.status).toBe('not_ready');
    expect(() => audit.emit(event(99))).toThrow(expect.objectContaining({ code: 'AUDIT_NOT_READY' }));
    await expect(audit.flush()).rejects.toMatchObject({ code: 'AUDIT_WORKER_FAILED' });
    // Nothing silent: each durable emit resolved durable (lane 0) or was rejected; the records
    // lane 1 never appended are counted (those it appended but had not fsynced are only rejected).
    const lost = await counter(registry, 'audit_drop_total', { reason: 'worker_failed' });
    expect(settled.filter((r) => !(r instanceof AuditError)).every((r) => (r as { durable: boolean; lane: number }).durable && (r as { lane: number }).lane === 0)).toBe(true);
    expect(failed.length).toBeGreaterThan(0);
    expect(lost).toBeGreaterThan(0);
    expect(lost).toBeLessThanOrEqual(failed.length);
    expect(h.queue.occupancy).toBe(0);
  });
});

describe('worker lanes shipping to PostgreSQL', () => {
  pgIt('each lane ships as its own log; a graceful close seals both; verifyPg accounts for every record', async () => {
    const db = await freshDb();
    const root = tempDir();
    const { audit, registry } = await laned({ root, walEnabled: true, walDir: join(root, 'wal'), pgUrl: db.writerUrl, pgSchema: db.schema });
    await audit.ready();
    const acks = await Promise.all(Array.from({ length: 200 }, (_, i) => audit.emitDurable(event(i))));
    expect(new Set(acks.map((a) => a.lane))).toEqual(new Set([0, 1]));
    const vkeys = audit.lanes.map((l) => l.verifierKey());
    await audit.close();
    expect(await counter(registry, 'audit_shipped_total')).toBeGreaterThanOrEqual(200);
    const r = await verifyPg({ url: PG_URL, schema: db.schema, keys: vkeys });
    expect(r.ok).toBe(true);
    expect(r.logs.map((l) => l.origin).sort()).toEqual([`${ORIGIN}/lane-0`, `${ORIGIN}/lane-1`]);
    expect(r.logs.every((l) => l.status === 'sealed')).toBe(true);
    expect(r.logs.reduce((a, l) => a + l.size, 0)).toBe(200);
  });
});

describe('logsOf(engine): every log an engine writes, lanes or not', () => {
  it('lists the lanes of a laned engine and the engine itself otherwise', async () => {
    const { audit } = await laned();
    await audit.ready();
    audit.emit(event(1));
    await audit.flush();
    expect(logsOf(audit).map((l) => l.origin)).toEqual([`${ORIGIN}/lane-0`, `${ORIGIN}/lane-1`]);
    expect(logsOf(audit).map((l) => l.checkpoint()?.size ?? 0).reduce((a, b) => a + b, 0)).toBe(1);
    const root = tempDir();
    const single = createAudit({ ...(await keystore(root)), origin: ORIGIN, env: {} });
    open.push(single);
    await single.ready();
    single.emit(event(2));
    await single.flush();
    const [log, ...rest] = logsOf(single);
    expect(rest).toEqual([]);
    expect(log).toMatchObject({ origin: ORIGIN });
    expect(log!.checkpoint()?.size).toBe(1);
    expect(log!.verifierKey()).toBe(single.verifierKey());
  });

  it.each([null, undefined, 'engine', 42, {}, { lanes: 'x' }])('refuses %s with AUDIT_INVALID_ARGUMENT', (bad) => {
    expect(() => logsOf(bad as never)).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_ARGUMENT', message: expect.stringContaining('engine') }));
  });
});

describe('ronctl audit verify over lanes', () => {
  async function cli(argv: string[], cwd: string): Promise<{ code: number; out: string }> {
    let out = '';
    const code = await ronctl(argv, { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => undefined }, env: {}, cwd });
    return { code, out };
  }

  it('finds lane-<i> under --export-dir, verifies each lane (and its WAL), and fails naming the lane whose bundle rotted', async () => {
    const root = tempDir();
    const exportDir = join(root, 'export');
    const walDir = join(root, 'wal');
    const { audit, keys } = await laned({ root, walEnabled: true, walDir, exportEnabled: true, exportDir, checkpointEvery: 64 });
    await audit.ready();
    for (let i = 0; i < 600; i++) audit.emit(event(i));
    await audit.close();
    expect(readdirSync(exportDir).sort()).toEqual(['lane-0', 'lane-1']);

    const ok = await cli(['audit', 'verify', '--export-dir', exportDir, '--wal-dir', walDir, '--keystore-dir', keys.keystoreDir], root);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^lane-0: OK: \d+ records verified/m);
    expect(ok.out).toMatch(/^lane-1: OK: \d+ records verified/m);
    expect(ok.out).toContain(`lane-1:   origin: ${ORIGIN}/lane-1`);
    expect(ok.out.trim().split('\n').at(-1)).toBe('OK: 2 lanes, 600 records verified');

    // Bit rot in lane 1's first full entry bundle (each lane holds more than 256 records).
    const first = join(exportDir, 'lane-1', 'tile', 'entries', '000');
    const bytes = readFileSync(first);
    bytes[40] ^= 0x01;
    writeFileSync(first, bytes);
    const bad = await cli(['audit', 'verify', '--export-dir', exportDir, '--keystore-dir', keys.keystoreDir], root);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^lane-0: OK/m);
    expect(bad.out).toMatch(/^lane-1: FAIL: /m);
    expect(bad.out.trim().split('\n').at(-1)).toBe('FAIL: 2 lanes, at least one does not verify');
  });

  it('an auditor verifies a laned export with the lanes\' verifier keys from `kms list --lanes --vkeys`; one key for all lanes fails with a hint that names that command', async () => {
    const root = tempDir();
    const exportDir = join(root, 'export');
    const { audit, keys } = await laned({ root, walEnabled: true, walDir: join(root, 'wal'), exportEnabled: true, exportDir });
    await audit.ready();
    for (let i = 0; i < 50; i++) audit.emit(event(i));
    await audit.close();

    // The dead end of issue 11: the verifier key of the log's origin, as kms list printed it before lanes.
    const one = await cli(['kms', 'list', '--keystore-dir', keys.keystoreDir, '--origin', ORIGIN, '--vkeys', '--lanes', '0'], root);
    expect(one.out.trim().split('\n')).toHaveLength(1);
    const single = await cli(['audit', 'verify', '--export-dir', exportDir, '--key', one.out.trim()], root);
    expect(single.code).toBe(1);
    expect(single.out).toMatch(/^lane-0: FAIL: key_untrusted/m);
    const hint = /^hint: .* print them all with: ronctl (.+?) > (\S+) — then pass --key-file (\S+)/m.exec(single.out);
    expect(hint, single.out).not.toBeNull();

    // Run the command the hint names, exactly (with the keystore the operator has).
    const listed = await cli([...hint![1]!.split(' '), '--keystore-dir', keys.keystoreDir], root);
    expect(listed.code).toBe(0);
    const vkeys = listed.out.trim().split('\n');
    expect(vkeys).toHaveLength(3); // the origin's own key, then lane-0 and lane-1
    expect(vkeys[1]).toMatch(new RegExp(`^${ORIGIN.replace(/[./]/g, '\\$&')}/lane-0\\+`));
    writeFileSync(join(root, hint![2]!), listed.out);
    const ok = await cli(['audit', 'verify', '--export-dir', exportDir, '--key-file', hint![3]!], root);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out.trim().split('\n').at(-1)).toBe('OK: 2 lanes, 50 records verified');
  });

  it('a laned Macronode admits nothing while its lanes recover their WALs (issue 13 item 8), then admits', async () => {
    const root = tempDir();
    const { audit } = await laned({ root, walEnabled: true, walDir: join(root, 'wal') });
    expect(audit.health().status).toBe('starting');
    expect(() => audit.emit(event(0))).toThrow(expect.objectContaining({ code: 'AUDIT_NOT_READY' }));
    await audit.ready();
    expect(() => audit.emit(event(1))).not.toThrow();
    await audit.close();
  });

  it('in Macronode too, the checkpoints signed before each WAL commit carry the lane line (WAL protocol 2 signs before the write)', async () => {
    const root = tempDir();
    const exportDir = join(root, 'export');
    const { audit } = await laned({ root, walEnabled: true, walDir: join(root, 'wal'), exportEnabled: true, exportDir, checkpointEvery: 16 });
    await audit.ready();
    for (let i = 0; i < 100; i++) audit.emit(event(i));
    await audit.close();
    for (const i of [0, 1]) expect(readFileSync(join(exportDir, `lane-${i}`, 'checkpoint'), 'utf8')).toMatch(new RegExp(`^${ORIGIN}/lane-${i}\n\\d+\n\\S+\ntime \\S+\nlane ${i}/2\n\n`));
  });

  it('every lane checkpoint says which lane of how many it is, so a deleted or swapped lane folder fails as a set (issue 13 item 9)', async () => {
    const root = tempDir();
    const exportDir = join(root, 'export');
    const { audit, keys } = await laned({ root, exportEnabled: true, exportDir, checkpointEvery: 16 });
    await audit.ready();
    for (let i = 0; i < 100; i++) audit.emit(event(i));
    await audit.close();
    for (const i of [0, 1]) expect(readFileSync(join(exportDir, `lane-${i}`, 'checkpoint'), 'utf8')).toMatch(new RegExp(`^${ORIGIN}/lane-${i}\n\\d+\n\\S+\ntime \\S+\nlane ${i}/2\n\n`));
    const verify = () => cli(['audit', 'verify', '--export-dir', exportDir, '--keystore-dir', keys.keystoreDir], root);
    const ok = await verify();
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain(`set: lane-0 … lane-1 of ${ORIGIN}, all present`);

    renameSync(join(exportDir, 'lane-0'), join(exportDir, 'swap'));
    renameSync(join(exportDir, 'lane-1'), join(exportDir, 'lane-0'));
    renameSync(join(exportDir, 'swap'), join(exportDir, 'lane-1'));
    const swapped = await verify();
    expect(swapped.code).toBe(1);
    expect(swapped.out).toMatch(/^FAIL: lane_misplaced: lane-0\//m);

    rmSync(join(exportDir, 'lane-0'), { recursive: true });
    renameSync(join(exportDir, 'lane-1'), join(exportDir, 'lane-0'));
    const deleted = await verify();
    expect(deleted.code).toBe(1);
    expect(deleted.out).toMatch(/^lane-0: OK: /m);
    expect(deleted.out).toMatch(/^FAIL: lane_missing: lane-1\/ is missing/m);
  });

  it('an in-thread engine\'s checkpoints keep the v1 text: origin, size, root and time only', async () => {
    const root = tempDir();
    const audit = createAudit({ ...(await keystore(root)), origin: ORIGIN, env: {} });
    open.push(audit);
    await audit.ready();
    audit.emit(event(1));
    await audit.flush();
    const text = audit.checkpoint()!.note.split('\n\n')[0]!;
    expect(text.split('\n')).toHaveLength(4);
    expect(text).toMatch(new RegExp(`^${ORIGIN}\n1\n\\S+\ntime \\S+$`));
  });
});

describe('worker lanes and the host process', () => {
  it('an idle laned engine never holds the process open, and a pending durable ack always does', () => {
    const dir = tempDir();
    const core = fileURLToPath(new URL('../../dist/esm/index.js', import.meta.url));
    const script = join(dir, 'host.mjs');
    writeFileSync(
      script,
      `import { createAudit, generateKey } from ${JSON.stringify(core)};
       await generateKey(${JSON.stringify(join(dir, 'keys'))}, 'k');
       const audit = createAudit({ keystoreDir: ${JSON.stringify(join(dir, 'keys'))}, keyId: 'k', workers: 2, walEnabled: true, walDir: ${JSON.stringify(join(dir, 'wal'))}, env: {} });
       await audit.ready();
       const r = await audit.emitDurable({ action: 'a.b', outcome: 'success' });
       console.log(JSON.stringify(r));
       // no close(): the process must still end by itself`,
    );
    const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ seq: 0, durable: true });
  });

  it('a CommonJS host gets lanes too: the CommonJS build finds its own lane worker', () => {
    const dir = tempDir();
    const core = fileURLToPath(new URL('../../dist/cjs/index.js', import.meta.url));
    const script = join(dir, 'host.cjs');
    writeFileSync(
      script,
      `const { createAudit, generateKey } = require(${JSON.stringify(core)});
       (async () => {
         await generateKey(${JSON.stringify(join(dir, 'keys'))}, 'k');
         const audit = createAudit({ keystoreDir: ${JSON.stringify(join(dir, 'keys'))}, keyId: 'k', workers: 1, env: {} });
         await audit.ready();
         const r = await audit.emitDurable({ action: 'a.b', outcome: 'success' });
         await audit.close();
         console.log(JSON.stringify(r));
       })();`,
    );
    const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ seq: 0, durable: false, lane: 0 });
  });
});
