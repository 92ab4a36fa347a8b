import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { isValidOrigin } from '../log/checkpoint.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, planReload, type AuditConfig, type AuditOptions } from '../config.js';
import { peekWalOrigin } from '../sinks/wal/reader.js';
import type { AuditEngine, AuditLane, CreateAuditOptions, DurableReceipt } from '../api.js';
import { AuditError, invalidArgument } from '../errors.js';
import type { AuditHealth, AuditStatus, HealthReason, LaneHealth } from '../health.js';
import type { DurableAck } from '../log/appender.js';
import type { SignedCheckpoint, VerifiedRecord } from '../log/memory.js';
import { sayNotReady, toAuditLogger, type AuditLogger } from '../logger.js';
import { metricsFor, type AuditMetrics, type DropReason } from '../metrics.js';
import { Admission } from '../queue/admission.js';
import { AdmissionFront, resolveCreateOptions } from '../queue/front.js';
import { orphanedLogs, orphanWarning } from './orphans.js';
import type { PreparedEvent } from '../record/record.js';
import { loadSigner } from '../sign/keystore.js';
import here from './here.cjs';
import { fromWire, NO_ACK, OVERSIZE_MARKER, pushOversized, pushPrepared, type FromLane, type LaneOp, type LaneOptions, type LaneStatus, type ToLane } from './protocol.js';

/**
 * Worker lanes (AUDIT_WORKERS > 0, docs/scaling.md "Worker lanes"). One chain is sequential, so
 * each worker thread runs its own log — origin `<origin>/lane-<i>`, its own chain, tree,
 * checkpoints, and WAL and export directories `<dir>/lane-<i>`. This thread keeps everything a
 * caller must see synchronously — admission (one bounded queue over all lanes), validation,
 * redaction and canonical JSON, so emit still throws its typed errors at once — and sends the
 * prepared records to the lane with the fewest records in flight, in one message per lane per
 * event-loop turn. The lanes do the rest (record bytes, BLAKE3, SHA-256, tree, signatures, WAL,
 * export, PostgreSQL) and report back metrics, acknowledgements and status.
 */

/** Where the lane worker is: next to this module in the build; from a source checkout (tests), the built one. */
function workerFile(): string {
  const dir = dirname(here);
  const built = join(dir, 'worker.js');
  if (existsSync(built)) return built;
  const fromSource = join(dir, '..', '..', 'dist', 'esm', 'lanes', 'worker.js');
  if (existsSync(fromSource)) return fromSource;
  throw new AuditError('AUDIT_WORKER_FAILED', `the lane worker is missing next to ${here} (build the package: pnpm build)`);
}

interface Pending {
  readonly ack: DurableAck;
  readonly lane: number;
}

class Lane {
  readonly worker: Worker;
  /** Records sent to the lane and not yet appended by it. */
  inFlight = 0;
  /** Durable acknowledgements the lane has not answered yet. */
  acks = 0;
  out: unknown[] = [];
  status: LaneStatus | undefined;
  checkpoint: SignedCheckpoint | undefined;
  dead: HealthReason | undefined;
  ready: 'pending' | 'ok' | 'failed' = 'pending';
  closing = false;
  private refd = true;
  readonly calls = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  readonly readyPromise: Promise<void>;
  private settleReady!: (err?: Error) => void;

  constructor(
    readonly index: number,
    readonly origin: string,
    count: number,
    options: LaneOptions,
  ) {
    this.readyPromise = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err ? reject(err) : resolve());
    });
    this.readyPromise.catch(() => undefined);
    this.worker = new Worker(workerFile(), { workerData: { index, count, options }, name: `ron-audit lane ${index}` });
  }

  /**
   * A lane keeps the process alive only while it has work (records in flight, calls pending), as
   * the in-thread engine does: an idle engine never holds a host's exit, a draining one always does.
   */
  keepAlive(): void {
    const busy = this.ready === 'pending' || this.inFlight > 0 || this.acks > 0 || this.calls.size > 0 || this.out.length > 0;
    if (busy === this.refd) return;
    this.refd = busy;
    if (busy) this.worker.ref();
    else this.worker.unref();
  }

  onReady(err: Error | undefined): void {
    this.ready = err ? 'failed' : 'ok';
    this.settleReady(err);
  }
}

export class LanedEngine extends AdmissionFront implements AuditEngine {
  config: AuditConfig;
  readonly origin: string;
  readonly metrics: AuditMetrics;
  readonly lanes: readonly AuditLane[];
  private readonly logger: AuditLogger;
  protected readonly admission: Admission;
  private readonly lanesInternal: Lane[];
  private readonly acks = new Map<number, Pending>();
  private nextToken = 0;
  private nextCall = 0;
  private rr = 0;
  private sendScheduled = false;
  private status: AuditStatus = 'starting';
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly detach: () => void;
  private readonly readyPromise: Promise<void>;
  constructor(options: CreateAuditOptions) {
    super();
    const { registry, logger, signer, fileOps, origin } = options;
    const { config, environment } = resolveCreateOptions(options);
    this.config = config;
    const n = this.config.workers;
    // A signer object or a file layer lives in this thread; a lane loads its key from the keystore and writes with node:fs.
    if (signer !== undefined) throw new AuditError('AUDIT_CONFIG_INVALID', `signer cannot be combined with AUDIT_WORKERS=${n}: each lane loads the key AUDIT_KEY_ID from AUDIT_KEYSTORE_DIR in its own thread (use AUDIT_WORKERS=0 for a KMS or HSM signer)`, { key: 'signer' });
    if (fileOps !== undefined) throw new AuditError('AUDIT_CONFIG_INVALID', `fileOps cannot be combined with AUDIT_WORKERS=${n}: lanes write with node:fs in their own threads`, { key: 'fileOps' });
    this.logger = toAuditLogger(logger);
    const explicitOrigin = origin !== undefined || (environment['AUDIT_ORIGIN'] ?? '') !== '';
    this.origin = this.config.origin;
    // A restarted Macronode lane keeps its log's identity, as an in-thread engine keeps its WAL's.
    const adopted = Array.from({ length: n }, (_, i) => (this.config.walEnabled && !explicitOrigin ? peekWalOrigin(join(this.config.walDir, `lane-${i}`)) : undefined));
    // A lane added to a set (AUDIT_WORKERS grew) joins the set's origin, not a fresh default one:
    // a verifier checks that every lane of a set is `<one origin>/lane-<i>` (format §1).
    const base = adopted.map((o, i) => (o !== undefined && o.endsWith(`/lane-${i}`) ? o.slice(0, -`/lane-${i}`.length) : undefined)).find((b) => b !== undefined) ?? this.origin;
    const origins = Array.from({ length: n }, (_, i) => {
      const origin = adopted[i] ?? `${base}/lane-${i}`;
      if (!isValidOrigin(origin)) throw new AuditError('AUDIT_CONFIG_INVALID', `AUDIT_ORIGIN is too long for lanes: "${origin}" must be at most 255 bytes`, { key: 'AUDIT_ORIGIN' });
      return origin;
    });
    this.metrics = metricsFor(registry);
    this.admission = new Admission(this.config.queueDepth, this.config.longLivedSlots, this.config.longLivedAfterMs);
    this.detach = this.metrics.attach({
      queueDepth: () => this.admission.occupancy,
      exportCheckpointAge: () => this.maxOf((s) => s.exportAge),
      degraded: () => [...new Set(this.lanesInternal.flatMap((l) => l.status?.degraded ?? []))],
      shipLag: () => this.sumOf((s) => s.shipLag),
    });
    const { redact: _redact, workers: _workers, ...laneBase } = this.config;
    this.lanesInternal = origins.map(
      (origin, i) =>
        new Lane(i, origin, n, {
          ...laneBase,
          workers: 0,
          origin,
          walDir: join(this.config.walDir, `lane-${i}`),
          exportDir: join(this.config.exportDir, `lane-${i}`),
          // The memory bound is the process's: each lane holds its share.
          memoryMaxBytes: Math.max(1024 * 1024, Math.floor(this.config.memoryMaxBytes / n)),
        }),
    );
    for (const lane of this.lanesInternal) this.wire(lane);
    this.lanes = this.lanesInternal.map((l) => this.view(l));
    this.sweepTimer = setInterval(() => this.admission.sweep(Date.now()), Math.min(250, this.config.longLivedAfterMs));
    this.sweepTimer.unref();
    this.readyPromise = this.start();
    this.readyPromise.catch(() => undefined);
  }

  private async start(): Promise<void> {
    const results = await Promise.allSettled(this.lanesInternal.map((l) => l.readyPromise));
    const failed = results.map((r, i) => (r.status === 'rejected' ? { i, err: r.reason as Error } : undefined)).filter((x) => x !== undefined);
    if (this.status === 'closing' || this.status === 'closed') throw new AuditError('AUDIT_CLOSED', 'audit engine was closed before it became ready');
    this.recompute();
    if (failed.length > 0) {
      const first = failed[0]!;
      const code = first.err instanceof AuditError ? first.err.code : 'AUDIT_WORKER_FAILED';
      // Once, at start, where the operator looks (the host logger, else stderr), with the fix the
      // lane's error names: a lane thread has no logger of the host's.
      sayNotReady(this.logger, 'error', { 'audit.ready': 0, code, 'audit.lane': first.i }, `audit.ready=0 reason=${code}: lane ${first.i}: ${first.err.message}`);
      throw first.err instanceof AuditError ? new AuditError(first.err.code, `lane ${first.i}: ${first.err.message}`, first.err.details) : first.err;
    }
    const lane0 = this.lanesInternal[0]!.status?.health;
    this.logger.info(
      { 'audit.ready': 1, queue_depth: this.config.queueDepth, wal: this.config.walEnabled, export: this.config.exportEnabled, key: this.config.keyId, origin: this.origin, workers: this.lanesInternal.length },
      `audit.ready=1 queue_depth=${this.config.queueDepth} wal=${this.config.walEnabled} export=${this.config.exportEnabled} key=${lane0?.key ?? this.config.keyId} workers=${this.lanesInternal.length}`,
    );
    const orphans = orphanedLogs(this.config);
    if (orphans.length > 0) this.logger.warn({ 'audit.orphaned_logs': orphans }, orphanWarning(orphans, this.config.workers));
  }

  private wire(lane: Lane): void {
    lane.worker.on('message', (msg: FromLane) => {
      if (msg.t === 'o') this.apply(lane, msg.ops, msg.status);
      else if (msg.t === 'ready') lane.onReady(msg.error ? fromWire(msg.error) : undefined);
      else {
        const call = lane.calls.get(msg.id);
        lane.calls.delete(msg.id);
        if (msg.error) call?.reject(fromWire(msg.error));
        else call?.resolve(msg.value);
      }
      lane.keepAlive();
      this.recompute();
    });
    lane.worker.on('error', (err) => this.laneDied(lane, `lane ${lane.index} failed: ${err.message}`));
    lane.worker.on('exit', (code) => {
      if (!lane.closing || lane.calls.size > 0) this.laneDied(lane, `lane ${lane.index} stopped unexpectedly (exit code ${code})`);
    });
  }

  /** Apply a lane's outbox: admission, metrics, acknowledgements, log lines, status. */
  private apply(lane: Lane, ops: readonly LaneOp[], status: LaneStatus | undefined): void {
    for (const op of ops) {
      switch (op[0]) {
        case 't':
          lane.inFlight -= op[1];
          this.admission.taken(op[1]);
          break;
        case 'n':
          lane.inFlight++;
          this.admission.enqueueInternal();
          break;
        case 'm': {
          const metric = this.metrics[op[1] as keyof AuditMetrics] as { inc?: (...a: unknown[]) => void; observe?: (...a: unknown[]) => void };
          const fn = metric?.[op[2]];
          if (typeof fn === 'function') {
            if (op[3]) fn.call(metric, op[3], op[4]);
            else fn.call(metric, op[4]);
          }
          break;
        }
        case 'a': {
          const p = this.acks.get(op[1]);
          this.acks.delete(op[1]);
          lane.acks--;
          p?.ack.resolve({ id: op[2], seq: op[3], durable: op[4], lane: lane.index } as DurableReceipt);
          break;
        }
        case 'x': {
          const p = this.acks.get(op[1]);
          this.acks.delete(op[1]);
          lane.acks--;
          p?.ack.reject(fromWire(op[2]));
          break;
        }
        case 'l':
          this.logger[op[1]](op[2] ?? {}, op[3]);
          break;
      }
    }
    if (status) {
      lane.status = status;
      if (status.checkpoint) lane.checkpoint = status.checkpoint;
    }
  }

  private laneDied(lane: Lane, message: string): void {
    if (lane.dead) return;
    lane.dead = { code: 'AUDIT_WORKER_FAILED', message };
    this.logger.error({ 'audit.ready': 0, code: 'AUDIT_WORKER_FAILED', 'audit.lane': lane.index, lost: lane.inFlight }, `audit.ready=0 reason=AUDIT_WORKER_FAILED: ${message}`);
    // What it had not appended is gone from memory (a Macronode lane recovers its fsynced part on restart): counted, never silent.
    const lost = lane.inFlight;
    if (lost > 0) {
      this.metrics.drops.inc({ reason: 'worker_failed' }, lost);
      this.admission.taken(lost);
    }
    lane.inFlight = 0;
    lane.acks = 0;
    lane.out = [];
    const err = new AuditError('AUDIT_WORKER_FAILED', message, { lane: lane.index });
    for (const [token, p] of this.acks) {
      if (p.lane !== lane.index) continue;
      this.acks.delete(token);
      p.ack.reject(err);
    }
    for (const call of lane.calls.values()) call.reject(err);
    lane.calls.clear();
    if (lane.ready === 'pending') lane.onReady(err);
    this.recompute();
  }

  /** The engine's status from its lanes': not ready while any lane is not (one chain stalled is a gap in the trail). */
  private recompute(): void {
    if (this.status === 'closing' || this.status === 'closed') return;
    let next: AuditStatus = 'ready';
    for (const l of this.lanesInternal) {
      const s = l.dead ? 'not_ready' : (l.status?.health.status ?? 'starting');
      if (s === 'not_ready' || s === 'closed' || s === 'closing') next = 'not_ready';
      else if (s === 'starting' && next === 'ready') next = 'starting';
    }
    this.status = next;
  }

  private reasons(): HealthReason[] {
    const out: HealthReason[] = [];
    for (const l of this.lanesInternal) {
      if (l.dead) out.push(l.dead);
      else for (const r of l.status?.health.reasons ?? []) out.push({ code: r.code, message: `lane ${l.index}: ${r.message}` });
    }
    return out;
  }

  private maxOf(f: (s: LaneStatus) => number | undefined): number | undefined {
    let m: number | undefined;
    for (const l of this.lanesInternal) {
      const v = l.status ? f(l.status) : undefined;
      if (v !== undefined) m = m === undefined ? v : Math.max(m, v);
    }
    return m;
  }

  private sumOf(f: (s: LaneStatus) => number | undefined): number | undefined {
    let n: number | undefined;
    for (const l of this.lanesInternal) {
      const v = l.status ? f(l.status) : undefined;
      if (v !== undefined) n = (n ?? 0) + v;
    }
    return n;
  }

  ready(): Promise<void> {
    if (this.status === 'ready') return Promise.resolve();
    return this.readyPromise;
  }

  private refuse(reason: DropReason, code: 'AUDIT_CLOSED' | 'AUDIT_NOT_READY'): never {
    this.metrics.drops.inc({ reason });
    const why = this.reasons()[0]?.message;
    throw new AuditError(code, code === 'AUDIT_NOT_READY' ? `audit engine is not ready${why ? `: ${why}` : ''}` : 'audit engine is closed');
  }

  protected gate(): void {
    if (this.status === 'ready' || this.status === 'starting') return;
    if (this.status === 'not_ready') this.refuse('not_ready', 'AUDIT_NOT_READY');
    this.refuse('closed', 'AUDIT_CLOSED');
  }

  /** The live lane with the fewest records in flight (ties in turn). */
  private pick(): Lane {
    const lanes = this.lanesInternal;
    let best: Lane | undefined;
    for (let k = 0; k < lanes.length; k++) {
      const l = lanes[(this.rr + k) % lanes.length]!;
      if (l.dead) continue;
      if (best === undefined || l.inFlight < best.inFlight) best = l;
    }
    this.rr = (this.rr + 1) % lanes.length;
    // gate() has refused already when a lane is dead; this is the closing race.
    if (!best) throw new AuditError('AUDIT_WORKER_FAILED', 'no live lane');
    return best;
  }

  private token(ack: DurableAck | undefined, lane: Lane): number {
    if (!ack) return NO_ACK;
    const t = this.nextToken++;
    this.acks.set(t, { ack, lane: lane.index });
    lane.acks++;
    return t;
  }

  private scheduleSend(): void {
    if (this.sendScheduled) return;
    this.sendScheduled = true;
    setImmediate(() => this.send());
  }

  /** One message per lane with what this event-loop turn admitted. */
  private send(): void {
    this.sendScheduled = false;
    for (const l of this.lanesInternal) {
      if (l.out.length === 0 || l.dead) continue;
      const r = l.out;
      l.out = [];
      l.worker.postMessage({ t: 'b', r } satisfies ToLane);
      l.keepAlive();
    }
  }

  protected fillRefusal(): { reason: DropReason; error: AuditError } | undefined {
    if (this.status === 'closed') return { reason: 'closed', error: new AuditError('AUDIT_CLOSED', 'audit engine is closed') };
    if (this.lanesInternal.every((l) => l.dead)) return { reason: 'worker_failed', error: new AuditError('AUDIT_WORKER_FAILED', 'every lane has stopped') };
    return undefined;
  }

  /** To the live lane with the fewest records in flight; an oversized record travels as its full record and the reduced one with a marker. */
  protected dispatch(prepared: PreparedEvent, ack: DurableAck | undefined): void {
    const lane = this.pick();
    lane.inFlight++;
    const token = this.token(ack, lane);
    if (prepared.oversizeOf) pushOversized(lane.out, prepared.oversizeOf.reduce(OVERSIZE_MARKER), prepared.oversizeOf.full, token);
    else pushPrepared(lane.out, prepared, token);
    this.scheduleSend();
  }

  health(): AuditHealth {
    const reasons = this.reasons();
    const lanes: LaneHealth[] = this.lanesInternal.map((l) => {
      const h = l.status?.health;
      return {
        index: l.index,
        origin: l.origin,
        status: l.dead ? 'not_ready' : (h?.status ?? 'starting'),
        size: h?.log.size ?? 0,
        checkpointSize: h?.log.checkpointSize ?? 0,
        checkpointAgeMs: l.checkpoint ? Date.now() - l.checkpoint.time : null,
        inFlight: l.inFlight,
      };
    });
    const degraded = this.lanesInternal.some((l) => l.status?.health.status === 'degraded');
    const status: AuditStatus = this.status === 'ready' && degraded ? 'degraded' : this.status;
    if (this.status === 'closing' || this.status === 'closed') reasons.push({ code: 'AUDIT_CLOSED', message: `audit engine is ${this.status}` });
    const sink = (name: 'wal' | 'export'): 'ok' | 'degraded' | 'off' =>
      !(name === 'wal' ? this.config.walEnabled : this.config.exportEnabled) ? 'off' : this.lanesInternal.some((l) => l.status?.health.sinks[name] === 'degraded') ? 'degraded' : 'ok';
    const ages = lanes.map((l) => l.checkpointAgeMs);
    return {
      ready: this.status === 'ready',
      status,
      reasons,
      queue: { occupancy: this.admission.occupancy, depth: this.config.queueDepth, saturated: this.admission.saturated },
      log: {
        origin: this.origin,
        size: lanes.reduce((a, l) => a + l.size, 0),
        checkpointSize: lanes.reduce((a, l) => a + l.checkpointSize, 0),
        checkpointAgeMs: ages.includes(null) ? null : Math.max(...(ages as number[])),
      },
      profile: this.config.walEnabled ? 'macronode' : 'micronode',
      sinks: { wal: sink('wal'), export: sink('export') },
      key: this.lanesInternal[0]?.status?.health.key ?? this.config.keyId,
      lanes,
    };
  }

  private call(lane: Lane, op: 'flush' | 'close' | 'read' | 'prove' | 'snapshot' | 'reload', arg?: unknown): Promise<unknown> {
    if (lane.dead) return Promise.reject(new AuditError('AUDIT_WORKER_FAILED', lane.dead.message, { lane: lane.index }));
    // Records admitted this turn go first: a flush covers everything emitted before it.
    this.send();
    const id = this.nextCall++;
    return new Promise((resolve, reject) => {
      lane.calls.set(id, { resolve, reject });
      lane.keepAlive();
      lane.worker.postMessage({ t: 'call', id, op, arg } satisfies ToLane);
    });
  }

  async flush(): Promise<void> {
    const dead = this.lanesInternal.find((l) => l.dead);
    if (dead) throw new AuditError('AUDIT_WORKER_FAILED', dead.dead!.message, { lane: dead.index });
    await Promise.all(this.lanesInternal.map((l) => this.call(l, 'flush')));
  }

  protected isClosed(): boolean {
    return this.status === 'closed';
  }

  protected async doClose(options: { timeoutMs?: number }): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.status = 'closing';
    const deadline = Date.now() + timeoutMs;
    await this.drainSlots(deadline);
    this.send();
    await Promise.all(
      this.lanesInternal.map(async (l) => {
        if (l.dead) return;
        l.closing = true;
        try {
          await this.call(l, 'close', { timeoutMs: Math.max(0, deadline - Date.now()) });
        } catch (err) {
          this.logger.error({ err, 'audit.lane': l.index }, `audit lane ${l.index}: close failed`);
        }
        await l.worker.terminate();
      }),
    );
    clearInterval(this.sweepTimer);
    this.detach();
    this.status = 'closed';
  }

  private perLog(what: string): never {
    throw new AuditError('AUDIT_LANED', `${what}: this engine runs ${this.lanesInternal.length} lanes (AUDIT_WORKERS), each its own log; use engine.lanes[i].${what}`);
  }

  read(): Promise<VerifiedRecord[]> {
    return Promise.reject(new AuditError('AUDIT_LANED', `read: this engine runs ${this.lanesInternal.length} lanes (AUDIT_WORKERS), each its own log; use engine.lanes[i].read`));
  }

  checkpoint(): SignedCheckpoint | undefined {
    return this.perLog('checkpoint');
  }

  prove(): { size: number; proof: Uint8Array[] } {
    return this.perLog('prove');
  }

  verifierKey(): string {
    return this.perLog('verifierKey');
  }

  snapshot(): { origin: string; first: number; records: readonly Uint8Array[]; checkpoint: string | undefined; verifierKey: string } {
    return this.perLog('snapshot');
  }

  async reload(changes: AuditOptions): Promise<{ changed: string[] }> {
    if (changes === null || typeof changes !== 'object') throw invalidArgument('changes', 'an options object', changes);
    if (this.status === 'closing' || this.status === 'closed') throw new AuditError('AUDIT_CLOSED', 'audit engine is closed');
    const { next, changed } = planReload(this.config, changes);
    // A new key must load before any lane starts announcing it.
    if (changed.includes('keyId')) await loadSigner(next.keystoreDir, next.keyId);
    this.config = next;
    this.admission.resize(next.queueDepth, next.longLivedSlots, next.longLivedAfterMs);
    const forLanes: Record<string, unknown> = {};
    for (const k of changed) if (LANE_KEYS.has(k)) forLanes[k] = next[k as keyof AuditConfig];
    if (Object.keys(forLanes).length > 0) await Promise.all(this.lanesInternal.map((l) => this.call(l, 'reload', forLanes)));
    this.logger.info({ 'audit.reload': changed }, `audit config reloaded: ${changed.length ? changed.join(', ') : 'no change'}`);
    return { changed };
  }

  /** @internal tests: the lane's worker, to stop it the way a crash would. */
  workerOf(index: number): Worker | undefined {
    return this.lanesInternal[index]?.worker;
  }

  private view(lane: Lane): AuditLane {
    return {
      index: lane.index,
      origin: lane.origin,
      verifierKey: () => {
        const k = lane.status?.verifierKey;
        if (k === undefined) throw new AuditError('AUDIT_NOT_READY', `lane ${lane.index}: no signing key loaded`);
        return k;
      },
      checkpoint: () => lane.checkpoint,
      read: async (range = {}) => {
        if (range === null || typeof range !== 'object') throw invalidArgument('range', 'an object {from?, to?}', range);
        return (await this.call(lane, 'read', range)) as VerifiedRecord[];
      },
      prove: async (seq) => (await this.call(lane, 'prove', seq)) as { size: number; proof: Uint8Array[] },
      snapshot: async () => (await this.call(lane, 'snapshot')) as Awaited<ReturnType<AuditLane['snapshot']>>,
    };
  }
}

/** Reloadable keys a lane applies itself; admission knobs stay on the main thread. */
const LANE_KEYS = new Set<string>(['batchMax', 'batchWindowMs', 'walBatch', 'walWindowMs', 'checkpointEvery', 'checkpointIntervalMs', 'keyId']);
