import type { Registry } from 'prom-client';
import type { AuditConfig, AuditOptions } from './config.js';
import type { AuditHealth } from './health.js';
import type { SignedCheckpoint, VerifiedRecord } from './log/memory.js';
import type { AuditMetrics } from './metrics.js';
import type { AuditEvent } from './record/record.js';
import type { Signer } from './sign/signer.js';
import type { FileOps } from './sinks/fs.js';

/**
 * The public shape of an audit engine: what createAudit takes and returns. Types only, so the
 * engines (engine.ts in-thread, lanes/laned.ts with worker lanes) and the admission front they
 * share (queue/front.ts) depend on this file and not on each other.
 */

export interface CreateAuditOptions extends AuditOptions {
  /** prom-client registry to register metrics on; default: a private one (see engine.metrics.registry). */
  registry?: Registry;
  /** pino-compatible logger for the ready line and faults; default: silent. */
  logger?: unknown;
  /** A signer to use instead of the keystore (a KMS, an HSM, a test key). */
  signer?: Signer;
  /** Environment to read AUDIT_* from; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The file layer for the WAL and export (a fault-injection seam for drills); default node:fs. */
  fileOps?: FileOps;
}

export interface DurableReceipt {
  readonly id: string;
  readonly seq: number;
  /** true: fsynced in the WAL. false: Micronode, under a signed checkpoint in memory only. */
  readonly durable: boolean;
  /** With worker lanes: the lane whose log holds the record (`seq` is in that log). */
  readonly lane?: number;
}

export interface EmitReceipt {
  /** The record id (also the `Audit-Id` an adapter returns). */
  readonly id: string;
}

export interface ReserveOptions {
  /** Label for busy_rejections_total{endpoint} when refused; adapters pass the route template. */
  readonly endpoint?: string;
  /** The request is known to be long-lived (stream, SSE): take a slot from the long-lived pool. */
  readonly longLived?: boolean;
}

/** A reserved queue slot: the adapter got it before the handler ran, and fills it when the request ends. */
export interface AuditSlot {
  readonly id: string;
  /** Record the request. Never refused for capacity; an invalid or oversized event is recorded reduced (format §2.1). */
  commit(event: Omit<AuditEvent, 'id'>): void;
  /** Like commit, and resolves once the record is durable (WAL fsynced); rejects with AUDIT_NOT_DURABLE if the WAL failed. */
  commitDurable(event: Omit<AuditEvent, 'id'>): Promise<DurableReceipt>;
  /** Give the slot back without a record (route opted out after admission). */
  release(): void;
  /** The request turned out long-lived (response streaming): move it to the long-lived pool. */
  markLongLived(): void;
}

/**
 * One lane of an engine with worker lanes (AUDIT_WORKERS > 0): its own log, whose calls run in
 * the lane's thread (hence async). An in-thread engine has no lanes.
 */
export interface AuditLane {
  readonly index: number;
  /** The lane's log identity, `<origin>/lane-<index>`. */
  readonly origin: string;
  /** The C2SP verifier key of this lane's log (after ready). */
  verifierKey(): string;
  /** The newest signed checkpoint the lane has reported. */
  checkpoint(): SignedCheckpoint | undefined;
  read(range?: { from?: number; to?: number }): Promise<VerifiedRecord[]>;
  prove(seq: number): Promise<{ size: number; proof: Uint8Array[] }>;
  snapshot(): Promise<{ origin: string; first: number; records: readonly Uint8Array[]; checkpoint: string | undefined; verifierKey: string }>;
}

export interface AuditEngine {
  readonly config: AuditConfig;
  readonly origin: string;
  readonly metrics: AuditMetrics;
  /**
   * Worker lanes, one log each (AUDIT_WORKERS > 0); empty for the in-thread engine. With lanes,
   * the per-log calls below (read, checkpoint, prove, verifierKey, snapshot) throw AUDIT_LANED:
   * use the lane's.
   */
  readonly lanes: readonly AuditLane[];
  /** Resolves once the engine is ready, or rejects with the reason it is not (it keeps retrying the key). */
  ready(): Promise<void>;
  emit(event: AuditEvent): EmitReceipt;
  /**
   * emit, and resolve once the record is durable: fsynced in the WAL (Macronode), or under a signed
   * checkpoint in memory (Micronode, `durable: false`). Admission errors reject synchronously-thrown
   * style: the returned promise rejects with the same typed error emit would throw.
   */
  emitDurable(event: AuditEvent): Promise<DurableReceipt>;
  reserve(options?: ReserveOptions): AuditSlot;
  isSaturated(): boolean;
  health(): AuditHealth;
  /** Resolves when every admitted record so far is appended and under a signed checkpoint. */
  flush(): Promise<void>;
  close(options?: { timeoutMs?: number }): Promise<void>;
  /** Verified read of records [from, to] (Micronode verify-on-read). */
  read(range?: { from?: number; to?: number }): Promise<VerifiedRecord[]>;
  checkpoint(): SignedCheckpoint | undefined;
  /** Inclusion proof of record `seq` in the tree of the newest checkpoint. */
  prove(seq: number): { size: number; proof: Uint8Array[] };
  /** The C2SP verifier key of this log (after ready). */
  verifierKey(): string;
  /**
   * Hot reload (runbook §6.5): apply the knobs that are safe to change live — RELOADABLE_KEYS,
   * including keyId after `ronctl kms rotate` — and refuse any other change with
   * AUDIT_CONFIG_INVALID, changing nothing. Resolves with the keys that changed.
   */
  reload(changes: AuditOptions): Promise<{ changed: string[] }>;
  /** Everything an independent verifier needs: the retained bytes, the newest signed checkpoint and the key. */
  snapshot(): { origin: string; first: number; records: readonly Uint8Array[]; checkpoint: string | undefined; verifierKey: string };
}

/** One log an engine writes, as reports and operator output need it. */
export interface AuditLogView {
  readonly origin: string;
  checkpoint(): SignedCheckpoint | undefined;
  verifierKey(): string;
}
