import type { AuditEngine, AuditLane, CreateAuditOptions } from './api.js';
import { installBackends } from './backends.js';
import { planReload, DEFAULT_CLOSE_TIMEOUT_MS, type AuditConfig, type AuditOptions } from './config.js';
import { AuditError, invalidArgument } from './errors.js';
import type { AuditHealth, AuditStatus, HealthReason } from './health.js';
import { Appender, type DurableAck } from './log/appender.js';
import { toHex } from './prim/hex.js';
import { MemoryLog, VerifyError, type SignedCheckpoint, type VerifiedRecord } from './log/memory.js';
import { isSealed, parseCheckpoint, SEALED_EXTENSION } from './log/checkpoint.js';
import { sayNotReady, toAuditLogger, type AuditLogger } from './logger.js';
import { metricsFor, type AuditMetrics, type DropReason } from './metrics.js';
import { Admission } from './queue/admission.js';
import { AdmissionFront, resolveCreateOptions } from './queue/front.js';
import { prepareInternalEvent, uuidv7, type AuditEvent, type PreparedEvent } from './record/record.js';
import { listKeys, loadPqSigner, loadSigner } from './sign/keystore.js';
import { keyAnnounceEvent, keyAnnounceMessage, keyRetireEvent, keyRetireMessage, CROSS_SIGNED_CHECKPOINTS } from './sign/rotation.js';
import { formatVerifierKey, keyIdOf, parseNote, parseVerifierKey, type VerifierKey } from './sign/note.js';
import { noteSignerFor, type Signer } from './sign/signer.js';
import { Sinks } from './sinks/sinks.js';
import { peekWalOrigin } from './sinks/wal/reader.js';
import { recoverWal, type RecoveryResult } from './sinks/wal/recover.js';
import { orphanedLogs, orphanWarning } from './lanes/orphans.js';
import { nodeFileOps, type FileOps } from './sinks/fs.js';

/**
 * The in-thread engine: wires admission → appender → log → sinks, recovers the WAL into the log at
 * start, loads the key, reports health, and drains on close. A lane thread runs one of these
 * (lanes/worker.ts); createAudit (create-audit.ts) picks it or the laned engine.
 */

export const KEY_RETRY_MS = 5000;

/**
 * Why an engine with a WAL or an export is not ready while it starts: until recovery has finished
 * it may still refuse (AUDIT_WAL_CORRUPT, AUDIT_ROLLBACK), and a record admitted meanwhile would be
 * acknowledged and then dropped. So nothing is admitted before (queue/front.ts).
 */
const RECOVERING: HealthReason = {
  code: 'AUDIT_NOT_READY',
  message: 'starting: recovering the write-ahead log and checking the export; audited requests are refused until this has finished',
};
/**
 * @internal What a lane worker (lanes/worker.ts) gives the engine it runs: metrics relayed to the
 * main thread, and hooks that keep the main thread's admission accounting exact.
 */
export interface EngineInternals {
  readonly metrics?: AuditMetrics;
  /** Records appended (the lane's admission hook). */
  readonly onTaken?: (count: number) => void;
  /** An engine record (key rotation) entered the queue, admitted outside the main thread's admission. */
  readonly onInternal?: () => void;
  /** Extension lines for every checkpoint: a lane's `lane i/n` (format §5). */
  readonly checkpointExtensions?: readonly string[];
}

export class Engine extends AdmissionFront implements AuditEngine {
  readonly lanes: readonly AuditLane[] = [];
  config: AuditConfig;
  readonly origin: string;
  readonly metrics: AuditMetrics;
  private readonly logger: AuditLogger;
  protected readonly admission: Admission;
  private readonly log: MemoryLog;
  private readonly appender: Appender;
  private status: AuditStatus;
  private reasons: HealthReason[] = [];
  private signer: Signer | undefined;
  private vkey: VerifierKey | undefined;
  private readyPromise: Promise<void>;
  private sweepTimer: NodeJS.Timeout | undefined;
  private keyTimer: NodeJS.Timeout | undefined;
  private detach: () => void;
  private lastError: unknown;
  private readonly sinks: Sinks | undefined;
  private readonly fileOps: FileOps;
  /** A reason that keeps the engine not ready whatever the key does (WAL corrupt, rollback). */
  private fatal: HealthReason | undefined;
  private pqSigner: Signer | undefined;
  /** Key rotation in progress (docs/format.md §12): checkpoints are cross-signed until `remaining` is 0. */
  private rotation: { old: Signer; oldVkey: string; newVkey: string; remaining: number } | undefined;
  private retiredVkeys: VerifierKey[] = [];
  private sinksOpen = false;

  private readonly internals: EngineInternals;

  constructor(options: CreateAuditOptions, internals: EngineInternals = {}) {
    super();
    this.internals = internals;
    const { registry, logger, signer, fileOps, origin } = options;
    const { config, environment } = resolveCreateOptions(options);
    this.config = config;
    this.logger = toAuditLogger(logger);
    if (signer !== undefined && (typeof signer !== 'object' || !(signer.publicKey instanceof Uint8Array) || typeof signer.sign !== 'function')) {
      throw invalidArgument('signer', 'a Signer {alias, publicKey, sign}', signer);
    }
    // A Macronode log keeps its identity across restarts: without an explicit AUDIT_ORIGIN, adopt the WAL's.
    const explicitOrigin = origin !== undefined || (environment['AUDIT_ORIGIN'] ?? '') !== '';
    this.origin = (this.config.walEnabled && !explicitOrigin ? peekWalOrigin(this.config.walDir) : undefined) ?? this.config.origin;
    this.metrics = internals.metrics ?? metricsFor(registry);
    this.admission = new Admission(this.config.queueDepth, this.config.longLivedSlots, this.config.longLivedAfterMs);
    this.detach = this.metrics.attach({
      queueDepth: () => this.admission.occupancy,
      exportCheckpointAge: () => this.sinks?.exportAgeSeconds(),
      degraded: () => this.sinks?.degraded().map((f) => f.sink) ?? [],
      shipLag: () => this.sinks?.shipLag(),
    });
    this.log = new MemoryLog(this.origin, this.config.memoryMaxBytes);
    this.fileOps = fileOps ?? nodeFileOps;
    const sinks = this.config.walEnabled || this.config.exportEnabled ? new Sinks(this.config, this.fileOps, this.metrics, this.logger, this.log) : undefined;
    this.sinks = sinks;
    this.appender = new Appender(this.log, this.config.walEnabled ? this.config.walBatch : this.config.batchMax, {
      ...(sinks ? { beforeSign: (b) => sinks.beforeSign(b) } : {}),
      notDurable: (id) => {
        this.metrics.notDurable.inc();
        return new AuditError('AUDIT_NOT_DURABLE', `record ${id} is in memory only: the write-ahead log is off or degraded`, { id });
      },
      onAppended: (count, bytes) => {
        this.admission.taken(count);
        internals.onTaken?.(count);
        this.metrics.appended.inc(count);
        this.metrics.bytes.inc(bytes);
      },
      onCheckpoint: (cp, written) => {
        this.metrics.checkpoints.inc();
        sinks?.onCheckpoint(cp, written === true);
        if (this.rotation) this.countCrossSigned(cp.note);
      },
      onError: (err) => {
        this.lastError = err;
        this.logger.error({ err, 'audit.error': (err as AuditError).code ?? 'unknown' }, 'audit appender error');
      },
    });
    this.appender.checkpointExtensions = internals.checkpointExtensions ?? [];
    if (!this.config.enabled) {
      this.status = 'disabled';
      this.readyPromise = Promise.resolve();
      return;
    }
    this.status = 'starting';
    if (sinks) this.reasons = [RECOVERING];
    // A batch waits up to the window for company: one signature (and, with the WAL, one fsync)
    // then covers more records, at the price of that much latency.
    this.appender.setWindow(this.config.walEnabled ? this.config.walWindowMs : this.config.batchWindowMs);
    if (this.config.walEnabled) {
      this.appender.hold();
      this.appender.setSignBeforeDurable(true);
    }
    this.sweepTimer = setInterval(() => this.admission.sweep(Date.now()), Math.min(250, this.config.longLivedAfterMs));
    this.sweepTimer.unref();
    this.readyPromise = this.start(signer);
    this.readyPromise.catch(() => undefined);
  }

  private async start(given: Signer | undefined): Promise<void> {
    const backend = await installBackends(this.config.crypto);
    await this.loadKey(given);
    if (this.status === 'closing' || this.status === 'closed') throw new AuditError('AUDIT_CLOSED', 'audit engine was closed before it became ready');
    if (this.sinks) {
      try {
        const recovered = this.config.walEnabled ? await this.recoverWal(this.sinks, await this.keystoreVerifierKeys()) : undefined;
        await this.sinks.open(recovered);
      } catch (err) {
        const code = err instanceof AuditError ? err.code : 'AUDIT_WAL_FAILED';
        this.fatal = { code, message: err instanceof Error ? err.message : String(err) };
        this.status = 'not_ready';
        this.reasons = [this.fatal];
        sayNotReady(this.logger, 'error', { 'audit.ready': 0, code }, `audit.ready=0 reason=${code}: ${this.fatal.message}`);
        throw err;
      }
      this.sinksOpen = true;
      if (this.signer) await this.checkRotation();
      this.openAfterRecovery();
      this.appender.release();
      await this.appender.idle();
      this.sinks.offerRecovered(this.log.checkpoint);
    } else {
      this.sinksOpen = true;
      this.openAfterRecovery();
    }
    if (this.status !== 'ready') throw new AuditError(this.reasons[0]?.code ?? 'AUDIT_NOT_READY', this.reasons[0]?.message ?? 'not ready');
    this.logger.info(
      { 'audit.ready': 1, queue_depth: this.config.queueDepth, wal: this.config.walEnabled, export: this.config.exportEnabled, key: this.config.keyId, origin: this.origin, crypto: backend },
      `audit.ready=1 queue_depth=${this.config.queueDepth} wal=${this.config.walEnabled} export=${this.config.exportEnabled} key=${this.signer?.alias ?? this.config.keyId}`,
    );
    const orphans = orphanedLogs(this.config);
    if (orphans.length > 0) this.logger.warn({ 'audit.orphaned_logs': orphans }, orphanWarning(orphans, this.config.workers));
  }

  /**
   * Replay the WAL into the log (format §9): the records, the tree and the chain head, and the
   * newest signed checkpoint. Refuses to start beside an export of a lost WAL (AUDIT_ROLLBACK) or
   * on a sealed log (AUDIT_LOG_SEALED, after moving it aside). The sinks then open on the result.
   */
  private async recoverWal(sinks: Sinks, keys: readonly VerifierKey[]): Promise<RecoveryResult> {
    const published = this.config.exportEnabled ? await sinks.peekExport() : undefined;
    const rec = await recoverWal({
      dir: this.config.walDir,
      ops: this.fileOps,
      origin: this.log.origin,
      keys,
      published: published?.origin === this.log.origin ? published : undefined,
      onResume: (size, frontier, head) => this.log.resumeAt(size, frontier, head),
      onRecord: (bytes, hash, leaf) => this.log.append(bytes, leaf, hash),
      rootAt: (size) => this.log.rootAt(size),
    });
    if (published !== undefined && !published.sealed && rec.segments === 0) {
      // Format §9.4: a wrong AUDIT_WAL_DIR, or a lost WAL, must not start a new log beside the old one's export.
      throw new AuditError(
        'AUDIT_ROLLBACK',
        `the WAL directory ${this.config.walDir} is empty or missing, but the export in ${this.config.exportDir} holds log ${published.origin} at size ${published.size}: refusing to start a new log beside it (wrong AUDIT_WAL_DIR, or a lost WAL: restore it, see docs/runbook.md "Roll-back refused")`,
        { published: published.size, recovered: 0, origin: published.origin },
      );
    }
    if (rec.truncated) {
      this.logger.warn(
        { 'audit.wal_truncated': rec.truncated },
        `audit wal: truncated a torn unsigned tail of ${rec.truncated.bytes} bytes (${rec.truncated.records} never-acknowledged records) at ${rec.truncated.segment}:${rec.truncated.offset}`,
      );
    }
    if (rec.checkpoint && isSealed(parseCheckpoint(parseNote(rec.checkpoint.note).text))) {
      // A sealed log is finished (format §14): move it aside and refuse to append to it. Its
      // seal reached PostgreSQL before it was written here, so nothing of it is only local.
      const moved = await sinks.archiveSealed();
      throw new AuditError(
        'AUDIT_LOG_SEALED',
        `the WAL in ${this.config.walDir} holds log ${rec.origin ?? this.log.origin}, sealed at size ${rec.checkpoint.size} by a graceful shutdown whose clean-up did not finish; its segments were moved to ${moved} — restart to begin a new log`,
        { size: rec.checkpoint.size, movedTo: moved },
      );
    }
    if (rec.checkpoint) {
      const cpText = rec.checkpoint;
      this.log.setCheckpoint({ note: cpText.note, size: cpText.size, root: cpText.root, time: cpText.time ?? Date.now() });
    }
    return rec;
  }

  private async loadKey(given: Signer | undefined): Promise<void> {
    try {
      const signer = given ?? (await loadSigner(this.config.keystoreDir, this.config.keyId));
      const pq = this.config.pqSign ? await loadPqSigner(this.config.keystoreDir, given?.alias ?? this.config.keyId) : undefined;
      if (this.status === 'closing' || this.status === 'closed') return;
      this.signer = signer;
      this.pqSigner = pq;
      this.vkey = parseVerifierKey(formatVerifierKey(this.origin, signer.publicKey));
      if (this.sinksOpen) await this.checkRotation();
      this.installSigners();
      // The key alone does not make the engine ready while the WAL is being recovered: start() does, once it is.
      const recovering = this.sinks !== undefined && !this.sinksOpen;
      this.status = this.fatal ? 'not_ready' : recovering ? 'starting' : 'ready';
      this.reasons = this.fatal ? [this.fatal] : recovering ? [RECOVERING] : [];
    } catch (err) {
      // close() won the race with this load: it stays closed and retries nothing.
      if (this.status === 'closing' || this.status === 'closed') return;
      const code = err instanceof AuditError ? err.code : 'AUDIT_KEY_UNAVAILABLE';
      const message = err instanceof Error ? err.message : String(err);
      if (this.status === 'starting') sayNotReady(this.logger, 'warn', { 'audit.ready': 0, code }, `audit.ready=0 reason=${code}: ${message}`);
      this.status = 'not_ready';
      this.reasons = [{ code, message }];
      if (given === undefined && this.keyTimer === undefined) {
        this.keyTimer = setInterval(() => {
          void this.loadKey(undefined).then(() => {
            if (this.status === 'ready') {
              clearInterval(this.keyTimer);
              this.keyTimer = undefined;
              this.logger.info({ 'audit.ready': 1, key: this.config.keyId }, `audit.ready=1 queue_depth=${this.config.queueDepth} wal=${this.config.walEnabled} export=${this.config.exportEnabled} key=${this.config.keyId}`);
            }
          });
        }, KEY_RETRY_MS);
        this.keyTimer.unref();
      }
    }
  }

  /**
   * Recovery has finished without refusing: ready if the key is loaded. A key retry that succeeded
   * during recovery left the engine 'starting' and its timer running; this is the ready it waited for.
   */
  private openAfterRecovery(): void {
    if (this.status !== 'starting' || this.signer === undefined || this.fatal !== undefined) return;
    this.status = 'ready';
    this.reasons = [];
    clearInterval(this.keyTimer);
    this.keyTimer = undefined;
  }

  /** Checkpoint signers now: the current key, the old one while a rotation cross-signs, and ML-DSA-44 if enabled. */
  private installSigners(): void {
    if (!this.signer) return;
    const list = this.rotation ? [this.rotation.old, this.signer] : [this.signer];
    if (this.pqSigner) list.push(this.pqSigner);
    this.appender.setSigners(list.map((s) => noteSignerFor(this.origin, s)));
  }

  /** Every keystore key as a verifier key for this origin (WAL recovery checks checkpoint frames with them). */
  private async keystoreVerifierKeys(): Promise<VerifierKey[]> {
    const keys = this.vkey ? [this.vkey] : [];
    try {
      for (const k of await listKeys(this.config.keystoreDir)) keys.push(parseVerifierKey(formatVerifierKey(this.origin, k.publicKey)));
    } catch {
      /* an unreadable keystore entry: recovery then checks structure and the current key only */
    }
    // One entry per key: a key listed twice is an ambiguous trust list to openNote.
    return keys.filter((k, i) => keys.findIndex((o) => o.keyId === k.keyId && o.name === k.name) === i);
  }

  private knownVerifierKeys(): VerifierKey[] {
    const keys = this.vkey ? [this.vkey, ...this.retiredVkeys] : [...this.retiredVkeys];
    if (this.rotation) keys.push(parseVerifierKey(this.rotation.oldVkey));
    if (this.pqSigner) keys.push(parseVerifierKey(formatVerifierKey(this.origin, this.pqSigner.publicKey, 'ml-dsa-44')));
    return keys;
  }

  /**
   * If the log's newest checkpoint was signed by another key than the configured one, this is a
   * rotation: find that key in the keystore, announce the new key under it, and cross-sign.
   */
  private async checkRotation(): Promise<void> {
    const cp = this.log.checkpoint;
    const signer = this.signer;
    if (!cp || !signer || this.rotation) return;
    const ids = parseNote(cp.note).signatures.filter((s) => s.name === this.origin).map((s) => s.keyId);
    if (ids.includes(keyIdOf(this.origin, signer.publicKey))) return;
    let old: Signer | undefined;
    try {
      for (const k of await listKeys(this.config.keystoreDir)) {
        if (ids.includes(keyIdOf(this.origin, k.publicKey))) {
          old = await loadSigner(this.config.keystoreDir, k.alias);
          break;
        }
      }
    } catch {
      old = undefined;
    }
    if (!old) {
      this.fatal = {
        code: 'AUDIT_KEY_UNAVAILABLE',
        message: `the log's newest checkpoint is signed by a key that is not in ${this.config.keystoreDir}; it is needed to announce key "${signer.alias}" (docs/format.md §12). Restore the previous key file, or start a new log.`,
      };
      this.status = 'not_ready';
      this.reasons = [this.fatal];
      return;
    }
    await this.beginRotation(old, signer);
  }

  private async beginRotation(old: Signer, next: Signer): Promise<void> {
    const oldVkey = formatVerifierKey(this.origin, old.publicKey);
    const newVkey = formatVerifierKey(this.origin, next.publicKey);
    const sig = await old.sign(keyAnnounceMessage(this.origin, newVkey));
    this.pushInternal(keyAnnounceEvent(this.origin, newVkey, oldVkey, sig));
    this.rotation = { old, oldVkey, newVkey, remaining: CROSS_SIGNED_CHECKPOINTS };
    this.installSigners();
    this.logger.info({ 'audit.key_rotation': 'announced', old: old.alias, new: next.alias }, `audit key rotation: announced key "${next.alias}" under "${old.alias}"; cross-signing the next ${CROSS_SIGNED_CHECKPOINTS} checkpoints`);
  }

  private countCrossSigned(note: string): void {
    const r = this.rotation;
    if (!r || !this.signer) return;
    const newId = keyIdOf(this.origin, this.signer.publicKey);
    const oldId = keyIdOf(this.origin, r.old.publicKey);
    const ids = parseNote(note).signatures.map((s) => s.keyId);
    if (!ids.includes(newId) || !ids.includes(oldId)) return;
    r.remaining--;
    if (r.remaining > 0) return;
    const next = this.signer;
    this.rotation = undefined;
    this.retiredVkeys.push(parseVerifierKey(r.oldVkey));
    this.installSigners();
    void Promise.resolve(next.sign(keyRetireMessage(this.origin, r.oldVkey))).then(
      (sig) => {
        this.pushInternal(keyRetireEvent(this.origin, r.oldVkey, r.newVkey, sig));
        this.logger.info({ 'audit.key_rotation': 'retired', old: r.old.alias, new: next.alias }, `audit key rotation: retired key "${r.old.alias}"`);
      },
      (err: unknown) => this.logger.error({ err }, 'audit key rotation: signing the retirement failed'),
    );
  }

  async reload(changes: AuditOptions): Promise<{ changed: string[] }> {
    if (changes === null || typeof changes !== 'object') throw invalidArgument('changes', 'an options object', changes);
    if (this.status === 'closing' || this.status === 'closed') throw new AuditError('AUDIT_CLOSED', 'audit engine is closed');
    // Validate the whole result first: a bad value changes nothing.
    const { next, changed } = planReload(this.config, changes);
    let newSigner: Signer | undefined;
    if (changed.includes('keyId')) newSigner = await loadSigner(next.keystoreDir, next.keyId);
    this.config = next;
    this.admission.resize(next.queueDepth, next.longLivedSlots, next.longLivedAfterMs);
    this.appender.setBatchMax(next.walEnabled ? next.walBatch : next.batchMax);
    this.appender.setWindow(next.walEnabled ? next.walWindowMs : next.batchWindowMs);
    this.sinks?.setCadence(next.checkpointEvery, next.checkpointIntervalMs);
    this.sinks?.setWalWindow(next.walWindowMs);
    if (newSigner && this.signer) {
      const old = this.signer;
      this.signer = newSigner;
      this.vkey = parseVerifierKey(formatVerifierKey(this.origin, newSigner.publicKey));
      await this.beginRotation(old, newSigner);
    }
    this.logger.info({ 'audit.reload': changed }, `audit config reloaded: ${changed.length ? changed.join(', ') : 'no change'}`);
    return { changed };
  }

  /** Append an engine record (key rotation); admitted whatever the occupancy, and counted in it. */
  private pushInternal(event: AuditEvent): void {
    const prepared = prepareInternalEvent(event, this.config.redact, uuidv7);
    this.admission.enqueueInternal();
    this.internals.onInternal?.();
    this.appender.push(prepared);
  }

  ready(): Promise<void> {
    // The first attempt's promise stays rejected; once a retry has loaded the key, say so.
    if (this.status === 'ready') return Promise.resolve();
    return this.readyPromise;
  }

  private refuse(reason: DropReason, code: 'AUDIT_DISABLED' | 'AUDIT_CLOSED' | 'AUDIT_NOT_READY'): never {
    this.metrics.drops.inc({ reason });
    const why = this.reasons[0]?.message;
    throw new AuditError(code, code === 'AUDIT_NOT_READY' ? `audit engine is not ready${why ? `: ${why}` : ''}` : code === 'AUDIT_CLOSED' ? 'audit engine is closed' : 'auditing is disabled (AUDIT_ENABLED=false)');
  }

  protected gate(): void {
    switch (this.status) {
      case 'disabled':
        return this.refuse('disabled', 'AUDIT_DISABLED');
      case 'closing':
      case 'closed':
        return this.refuse('closed', 'AUDIT_CLOSED');
      case 'not_ready':
        return this.refuse('not_ready', 'AUDIT_NOT_READY');
      default:
        return;
    }
  }

  /**
   * @internal A lane's input: a record admitted and prepared on the main thread. Never refused for
   * capacity (the main thread's admission counted it); refused only once the engine is closed.
   */
  appendPrepared(prepared: PreparedEvent, ack?: DurableAck): boolean {
    if (this.status === 'closed' || this.fatal) {
      this.metrics.drops.inc({ reason: this.fatal ? 'not_ready' : 'closed' });
      ack?.reject(this.fatal ? new AuditError(this.fatal.code, this.fatal.message) : new AuditError('AUDIT_CLOSED', 'audit engine is closed'));
      return false;
    }
    this.admission.enqueueInternal();
    this.appender.push(prepared, ack);
    return true;
  }

  protected fillRefusal(): { reason: DropReason; error: AuditError } | undefined {
    return this.status === 'closed' ? { reason: 'closed', error: new AuditError('AUDIT_CLOSED', 'audit engine is closed') } : undefined;
  }

  protected dispatch(prepared: PreparedEvent, ack: DurableAck | undefined): void {
    this.appender.push(prepared, ack);
  }

  health(): AuditHealth {
    const cp = this.log.checkpoint;
    const reasons = [...this.reasons];
    const faults = this.sinks?.degraded() ?? [];
    for (const f of faults) reasons.push({ code: f.code, message: f.message });
    const status: AuditStatus = this.status === 'ready' && faults.length > 0 ? 'degraded' : this.status;
    const sinkState = (name: 'wal' | 'export'): 'ok' | 'degraded' | 'off' =>
      !(name === 'wal' ? this.config.walEnabled : this.config.exportEnabled) ? 'off' : faults.some((f) => f.sink === name) ? 'degraded' : 'ok';
    if (this.status === 'closing' || this.status === 'closed') reasons.push({ code: 'AUDIT_CLOSED', message: `audit engine is ${this.status}` });
    return {
      ready: this.status === 'ready' || this.status === 'disabled',
      status,
      reasons,
      queue: { occupancy: this.admission.occupancy, depth: this.config.queueDepth, saturated: this.admission.saturated },
      log: { origin: this.origin, size: this.log.size, checkpointSize: cp?.size ?? 0, checkpointAgeMs: cp ? Date.now() - cp.time : null },
      profile: this.config.walEnabled ? 'macronode' : 'micronode',
      sinks: { wal: sinkState('wal'), export: sinkState('export') },
      key: this.signer?.alias ?? this.config.keyId,
    };
  }

  async flush(): Promise<void> {
    if (this.fatal) throw new AuditError(this.fatal.code, this.fatal.message);
    const release = this.sinks?.expedite();
    try {
      await this.appender.idle();
      await this.sinks?.flush();
    } finally {
      release?.();
    }
    if (this.lastError !== undefined) {
      const err = this.lastError;
      this.lastError = undefined;
      throw err;
    }
  }

  protected isClosed(): boolean {
    return this.status === 'closed';
  }

  protected async doClose(options: { timeoutMs?: number }): Promise<void> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    const wasDisabled = this.status === 'disabled';
    this.status = 'closing';
    const deadline = Date.now() + timeoutMs;
    await this.drainSlots(deadline);
    if (this.fatal) {
      const n = this.appender.discard();
      if (n > 0) this.metrics.drops.inc({ reason: 'not_ready' }, n);
    } else if (!wasDisabled) {
      this.sinks?.expedite(); // closing: no more pacing of the WAL's writes
      await this.appender.idle();
      // With PostgreSQL shipping, a graceful close seals the log (format §14).
      if (this.sinksOpen) await this.sinks?.seal(() => this.appender.signFinal([SEALED_EXTENSION]), deadline);
    }
    await this.sinks?.close();
    clearInterval(this.sweepTimer);
    clearInterval(this.keyTimer);
    this.detach();
    this.status = 'closed';
  }

  async read(range: { from?: number; to?: number } = {}): Promise<VerifiedRecord[]> {
    if (range === null || typeof range !== 'object') throw invalidArgument('range', 'an object {from?, to?}', range);
    const from = range.from ?? this.log.firstRetained;
    const to = range.to ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(from) || from < 0) throw invalidArgument('range.from', 'a seq ≥ 0', range.from);
    if (!Number.isSafeInteger(to) || to < from) throw invalidArgument('range.to', `a seq ≥ from (${from})`, range.to);
    await this.appender.idle();
    if (this.vkey === undefined) throw new AuditError('AUDIT_NOT_READY', 'no signing key yet: nothing is signed, so nothing can be verified');
    try {
      return this.log.read(from, to, this.knownVerifierKeys());
    } catch (err) {
      if (err instanceof VerifyError) {
        this.metrics.verifyFail.inc();
        this.logger.error({ 'audit.verify_fail': 1, seq: err.seq, reason: err.reason }, `verify_fail seq=${String(err.seq)} reason=${err.reason}`);
      }
      throw err;
    }
  }

  checkpoint(): SignedCheckpoint | undefined {
    return this.log.checkpoint;
  }

  prove(seq: number): { size: number; proof: Uint8Array[] } {
    const cp = this.log.checkpoint;
    if (cp === undefined) throw new AuditError('AUDIT_RANGE_UNAVAILABLE', 'no signed checkpoint yet');
    if (!Number.isSafeInteger(seq) || seq < 0) throw invalidArgument('seq', 'a seq ≥ 0', seq);
    if (seq >= cp.size) throw new AuditError('AUDIT_RANGE_UNAVAILABLE', `record ${seq} is not under the newest checkpoint (size ${cp.size})`);
    return { size: cp.size, proof: this.log.proof(seq, cp.size) };
  }

  verifierKey(): string {
    if (this.signer === undefined) throw new AuditError('AUDIT_NOT_READY', 'no signing key loaded');
    return formatVerifierKey(this.origin, this.signer.publicKey);
  }

  snapshot(): { origin: string; first: number; records: readonly Uint8Array[]; checkpoint: string | undefined; verifierKey: string } {
    const { first, records } = this.log.retained();
    return { origin: this.origin, first, records, checkpoint: this.log.checkpoint?.note, verifierKey: this.verifierKey() };
  }

  chainHeadHex(): string {
    return toHex(this.log.chainHead);
  }
}
