import type { Registry } from 'prom-client';
import { resolveConfig, type AuditConfig } from '../config.js';
import type { CreateAuditOptions } from '../api.js';
import { AuditError, invalidArgument } from '../errors.js';
import type { DurableAck } from '../log/appender.js';
import type { AuditHealth } from '../health.js';
import type { AuditMetrics, DropReason } from '../metrics.js';
import { prepareEvent, prepareOversized, prepareReduced, reducedEvent, uuidv7, type AuditEvent, type PreparedEvent } from '../record/record.js';
import type { Admission, Slot } from './admission.js';
import { checkReserveOptions, ReservedSlot, type SlotReceipt } from './slot.js';

/**
 * The part of an engine a caller meets synchronously, shared by the in-thread engine and the
 * laned one: admission into the one bounded queue, shedding with its counters, validation,
 * redaction and canonical JSON, and the reduced records of format §2.1 for admitted slots. What
 * differs is only where an admitted, prepared record goes (`dispatch`: the appender, or a lane)
 * and when the engine refuses (`gate`, `fillRefusal`).
 */
export abstract class AdmissionFront {
  abstract config: AuditConfig;
  abstract readonly metrics: AuditMetrics;
  protected abstract readonly admission: Admission;

  /** Throws the typed refusal (and counts it) unless the engine accepts new records now. */
  protected abstract gate(): void;
  /** Why a reserved slot's record cannot be taken any more (engine closed…), or undefined. */
  protected abstract fillRefusal(): { reason: DropReason; error: AuditError } | undefined;
  /** Hand on an admitted, prepared record (an oversized one carries `oversizeOf`). */
  protected abstract dispatch(prepared: PreparedEvent, ack: DurableAck | undefined): void;
  abstract health(): AuditHealth;

  /** Set once the engine has been seen past 'starting'; from then on gate() alone decides. */
  private started = false;

  /**
   * gate(), and nothing admitted while an engine with a WAL or an export is still starting: its
   * recovery may yet refuse (AUDIT_WAL_CORRUPT, AUDIT_ROLLBACK), and a record admitted now would be
   * answered 2xx with an Audit-Id and then dropped (issue 13 item 8). Without sinks there is nothing
   * to recover, and a record emitted before the key is loaded is signed as soon as it is.
   */
  private admissible(): void {
    this.gate();
    if (this.started) return;
    if (!this.config.walEnabled && !this.config.exportEnabled) {
      this.started = true;
      return;
    }
    const h = this.health();
    if (h.status !== 'starting') {
      this.started = true;
      return;
    }
    this.metrics.drops.inc({ reason: 'not_ready' });
    const why = h.reasons[0]?.message ?? 'starting';
    throw new AuditError('AUDIT_NOT_READY', `audit engine is not ready: ${why}`, { retryAfterSeconds: this.config.retryAfterSeconds });
  }

  protected queueFull(endpoint: string): AuditError {
    this.metrics.busyRejections.inc({ endpoint });
    return new AuditError('AUDIT_QUEUE_FULL', `audit queue is full (${this.admission.occupancy}/${this.config.queueDepth}); retry after ${this.config.retryAfterSeconds}s`, {
      retryAfterSeconds: this.config.retryAfterSeconds,
    });
  }

  emit(event: AuditEvent, ack?: DurableAck): { id: string } {
    this.admissible();
    if (this.admission.saturated) {
      this.metrics.drops.inc({ reason: 'audit_backpressure' });
      throw this.queueFull('emit');
    }
    let prepared: PreparedEvent;
    try {
      prepared = prepareEvent(event, this.config.redact, uuidv7);
    } catch (err) {
      this.metrics.drops.inc({ reason: err instanceof AuditError && err.code === 'AUDIT_RECORD_TOO_LARGE' ? 'too_large' : 'invalid' });
      throw err;
    }
    this.admission.tryEnqueue();
    this.dispatch(prepared, ack);
    return { id: prepared.id };
  }

  emitDurable(event: AuditEvent): Promise<SlotReceipt> {
    return new Promise<SlotReceipt>((resolve, reject) => {
      this.emit(event, { resolve, reject });
    });
  }

  reserve(options: { endpoint?: string; longLived?: boolean } = {}): ReservedSlot {
    checkReserveOptions(options);
    this.admissible();
    const slot = this.admission.tryReserve(Date.now(), options.longLived === true);
    if (slot === null) throw this.queueFull(options.endpoint ?? 'reserve');
    return new ReservedSlot(this, slot, uuidv7());
  }

  /** @internal the slot's fill path: never refused for capacity; an invalid or oversized event is recorded reduced (format §2.1). */
  fill(slot: Slot, id: string, event: Omit<AuditEvent, 'id'>, ack?: DurableAck): void {
    if (!slot.open) {
      ack?.reject(new AuditError('AUDIT_INVALID_ARGUMENT', `slot ${id} was already committed or released`));
      return;
    }
    const refusal = this.fillRefusal();
    if (refusal) {
      this.admission.settle(slot, false);
      this.metrics.drops.inc({ reason: refusal.reason });
      ack?.reject(refusal.error);
      return;
    }
    let prepared: PreparedEvent;
    const now = Date.now();
    let base: AuditEvent;
    try {
      base = { ...(event as AuditEvent), id };
    } catch (err) {
      // An event that throws when read (a getter, a Proxy): the slot is still recorded, reduced.
      base = reducedEvent({ id }, 'ron-audit.invalid', `event could not be read: ${err instanceof Error ? err.message : 'an unreadable value'}`);
    }
    try {
      prepared = prepareEvent(base, this.config.redact, uuidv7, now);
    } catch (err) {
      const tooLarge = err instanceof AuditError && err.code === 'AUDIT_RECORD_TOO_LARGE';
      this.metrics.drops.inc({ reason: tooLarge ? 'oversize_reduced' : 'invalid' });
      prepared = tooLarge
        ? prepareOversized(base, this.config.redact, uuidv7, now)
        : prepareReduced(base, 'ron-audit.invalid', err instanceof Error ? err.message : String(err), this.config.redact, uuidv7, now);
    }
    this.admission.settle(slot, true);
    this.dispatch(prepared, ack);
  }

  /** @internal */
  unreserve(slot: Slot): void {
    this.admission.settle(slot, false);
  }

  /** @internal */
  markLong(slot: Slot): void {
    this.admission.markLong(slot);
  }

  isSaturated(): boolean {
    return this.admission.saturated;
  }

  /** True once close() has finished. */
  protected abstract isClosed(): boolean;
  /** The drain and shutdown behind close(), run once. */
  protected abstract doClose(options: { timeoutMs?: number }): Promise<void>;
  private closeRun: Promise<void> | undefined;

  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (options === null || typeof options !== 'object') throw invalidArgument('options', 'an object {timeoutMs?}', options);
    if (options.timeoutMs !== undefined && (typeof options.timeoutMs !== 'number' || !(options.timeoutMs >= 0))) throw invalidArgument('options.timeoutMs', 'milliseconds ≥ 0', options.timeoutMs);
    if (this.isClosed()) return;
    // A second close() while one is draining waits for that one instead of draining twice.
    this.closeRun ??= this.doClose(options);
    return this.closeRun;
  }

  /** Closing: wait for reserved slots to be filled until the deadline, then give back the rest, counted. */
  protected async drainSlots(deadline: number): Promise<void> {
    while (this.admission.reserved > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    for (const slot of this.admission.openSlots()) {
      this.admission.settle(slot, false);
      this.metrics.drops.inc({ reason: 'closed' });
    }
  }
}

/**
 * createAudit()'s option checks shared by both engines: `env` and `registry` shapes (duck-typed,
 * not instanceof: the host's prom-client may be another copy than ours), then the config from
 * options and environment. Returns the environment used, for what else reads it (AUDIT_ORIGIN).
 */
export function resolveCreateOptions(options: CreateAuditOptions): { config: AuditConfig; environment: Readonly<Record<string, string | undefined>> } {
  const { registry, logger: _l, signer: _s, env, fileOps: _f, ...rest } = options;
  if (env !== undefined && (env === null || typeof env !== 'object')) throw invalidArgument('env', 'an object of AUDIT_* variables', env);
  const reg = registry as Partial<Registry> | null | undefined;
  if (reg !== undefined && (reg === null || typeof reg !== 'object' || typeof reg.registerMetric !== 'function' || typeof reg.getSingleMetric !== 'function')) {
    throw invalidArgument('registry', 'a prom-client Registry', registry);
  }
  const environment = env ?? process.env;
  return { config: resolveConfig(rest, environment), environment };
}
