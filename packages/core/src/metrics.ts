import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics with the runbook's names, exactly. Metrics are created once per registry
 * and shared by every engine attached to it, so two engines (or an app rebuilt in every test) on
 * one registry never hit prom-client's "already registered" error; gauges sum over the engines.
 */

export const METRIC_NAMES = [
  'audit_appended_total',
  'audit_bytes_total',
  'audit_queue_depth',
  'audit_drop_total',
  'busy_rejections_total',
  'audit_verify_fail_total',
  'audit_checkpoints_total',
  'wal_fsync_seconds',
  'export_batch_seconds',
  'audit_export_checkpoints_total',
  'audit_export_checkpoint_age_seconds',
  'audit_degraded',
  'audit_ship_lag_records',
  'audit_shipped_total',
  'audit_equivocation_total',
  'audit_not_durable_total',
] as const;

export type DropReason = 'audit_backpressure' | 'too_large' | 'invalid' | 'not_ready' | 'closed' | 'disabled' | 'oversize_reduced' | 'unaudited_pass' | 'worker_failed';

export interface GaugeSource {
  queueDepth(): number;
  /** Seconds since the newest published export checkpoint; undefined when not exporting. */
  exportCheckpointAge?(): number | undefined;
  /** Sinks currently degraded (their names). */
  degraded?(): readonly string[];
  /** Records durable in the WAL but not yet in PostgreSQL; undefined when not shipping. */
  shipLag?(): number | undefined;
}

export interface AuditMetrics {
  readonly registry: Registry;
  readonly appended: Counter<string>;
  readonly bytes: Counter<string>;
  readonly queueDepth: Gauge<string>;
  readonly drops: Counter<'reason'>;
  readonly busyRejections: Counter<'endpoint'>;
  readonly verifyFail: Counter<string>;
  readonly checkpoints: Counter<string>;
  readonly walFsync: Histogram<string>;
  readonly exportBatch: Histogram<string>;
  readonly exportCheckpoints: Counter<string>;
  readonly exportCheckpointAge: Gauge<string>;
  readonly degraded: Gauge<'sink'>;
  readonly notDurable: Counter<string>;
  readonly shipLag: Gauge<string>;
  readonly shipped: Counter<string>;
  readonly equivocations: Counter<string>;
  attach(source: GaugeSource): () => void;
}

const shared = new WeakMap<Registry, AuditMetrics>();

/** 50 µs … 100 ms, roughly ×2 steps, so the runbook's 8 ms p95 line falls between buckets that resolve it. */
export const FSYNC_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.1];

export function metricsFor(registry: Registry = new Registry()): AuditMetrics {
  const existing = shared.get(registry);
  if (existing) return existing;
  const sources = new Set<GaugeSource>();
  const reg = [registry];
  const m: AuditMetrics = {
    registry,
    appended: new Counter({ name: 'audit_appended_total', help: 'Records appended to the audit log (chained, in the tree).', registers: reg }),
    bytes: new Counter({ name: 'audit_bytes_total', help: 'Canonical record bytes appended.', registers: reg }),
    queueDepth: new Gauge({
      name: 'audit_queue_depth',
      help: 'Audit queue occupancy: reserved slots plus records waiting to be appended.',
      registers: reg,
      collect() {
        let n = 0;
        for (const s of sources) n += s.queueDepth();
        this.set(n);
      },
    }),
    drops: new Counter({ name: 'audit_drop_total', help: 'Records not appended, by reason.', labelNames: ['reason'], registers: reg }),
    busyRejections: new Counter({ name: 'busy_rejections_total', help: 'Admissions refused because the audit queue was full.', labelNames: ['endpoint'], registers: reg }),
    verifyFail: new Counter({ name: 'audit_verify_fail_total', help: 'Verification failures on read (chain, tree, signature, canonical form). Must stay 0.', registers: reg }),
    checkpoints: new Counter({ name: 'audit_checkpoints_total', help: 'Checkpoints signed by the appender (one per batch).', registers: reg }),
    walFsync: new Histogram({ name: 'wal_fsync_seconds', help: 'WAL group-commit fsync duration.', buckets: FSYNC_BUCKETS, registers: reg }),
    exportBatch: new Histogram({ name: 'export_batch_seconds', help: 'Duration of one export publication.', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: reg }),
    exportCheckpoints: new Counter({ name: 'audit_export_checkpoints_total', help: 'Checkpoints published to the export directory.', registers: reg }),
    exportCheckpointAge: new Gauge({
      name: 'audit_export_checkpoint_age_seconds',
      help: 'Age of the newest published export checkpoint (max over engines).',
      registers: reg,
      collect() {
        let max: number | undefined;
        for (const s of sources) {
          const a = s.exportCheckpointAge?.();
          if (a !== undefined) max = max === undefined ? a : Math.max(max, a);
        }
        if (max !== undefined) this.set(max);
      },
    }),
    notDurable: new Counter({ name: 'audit_not_durable_total', help: 'Durable acknowledgements refused because the WAL was off or had failed (the record exists in memory only).', registers: reg }),
    degraded: new Gauge({
      name: 'audit_degraded',
      help: '1 while a sink (wal, export) has failed and the engine runs in amnesia for it.',
      labelNames: ['sink'],
      registers: reg,
      collect() {
        const down = new Set<string>();
        for (const s of sources) for (const d of s.degraded?.() ?? []) down.add(d);
        for (const sink of ['wal', 'export', 'pg']) this.set({ sink }, down.has(sink) ? 1 : 0);
      },
    }),
    shipLag: new Gauge({
      name: 'audit_ship_lag_records',
      help: 'Records durable in the local WAL but not yet committed to PostgreSQL (sum over engines).',
      registers: reg,
      collect() {
        let n: number | undefined;
        for (const s of sources) {
          const lag = s.shipLag?.();
          if (lag !== undefined) n = (n ?? 0) + lag;
        }
        if (n !== undefined) this.set(n);
      },
    }),
    shipped: new Counter({ name: 'audit_shipped_total', help: 'Records committed to PostgreSQL by the shipper.', registers: reg }),
    equivocations: new Counter({ name: 'audit_equivocation_total', help: 'Conflicts found while shipping: PostgreSQL holds another record at a seq of this log (two writers, one origin). Must stay 0.', registers: reg }),
    attach(source) {
      sources.add(source);
      return () => sources.delete(source);
    },
  };
  m.drops.inc({ reason: 'audit_backpressure' }, 0);
  m.busyRejections.inc({ endpoint: 'emit' }, 0);
  shared.set(registry, m);
  return m;
}
