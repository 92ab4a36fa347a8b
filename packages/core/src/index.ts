/** @ron-audit/core public API. Named exports only; the verifier alone is also at `@ron-audit/core/verify`. */
export { createAudit, logsOf } from './create-audit.js';
export { KEY_RETRY_MS } from './engine.js';
export { DEFAULT_CLOSE_TIMEOUT_MS, RELOADABLE_KEYS } from './config.js';
export type { AuditEngine, AuditLane, AuditLogView, AuditSlot, CreateAuditOptions, EmitReceipt, ReserveOptions, DurableReceipt } from './api.js';
export { MAX_WORKERS } from './config.js';
export {
  resolveConfig,
  CONFIG_KEYS,
  DEFAULT_ENABLED,
  DEFAULT_QUEUE_DEPTH,
  DEFAULT_WAL_ENABLED,
  DEFAULT_WAL_DIR,
  DEFAULT_WAL_BATCH,
  DEFAULT_WAL_WINDOW_MS,
  DEFAULT_WAL_SEGMENT_BYTES,
  DEFAULT_EXPORT_ENABLED,
  DEFAULT_EXPORT_DIR,
  DEFAULT_CHECKPOINT_EVERY,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_KEY_ID,
  DEFAULT_KEYSTORE_DIR,
  DEFAULT_WORKERS,
  DEFAULT_BATCH_MAX,
  DEFAULT_BATCH_WINDOW_MS,
  DEFAULT_MEMORY_MAX_BYTES,
  DEFAULT_LONG_LIVED_AFTER_MS,
  DEFAULT_RETRY_AFTER_SECONDS,
  DEFAULT_CRYPTO,
  DEFAULT_PQ_SIGN,
  DEFAULT_PG_URL,
  DEFAULT_PG_BATCH,
  DEFAULT_PG_SCHEMA,
} from './config.js';
export type { AuditConfig, AuditOptions, CryptoBackend } from './config.js';
export { loadConfigFile, parseEnvFile, parseTomlConfig, optionsOf, reloadFromFile } from './config-file.js';
export type { LoadedConfig } from './config-file.js';
export { AuditError, isAuditError, ERROR_CODES, invalidArgument, describe } from './errors.js';
export type { AuditErrorCode } from './errors.js';
export type { AuditHealth, AuditStatus, HealthReason, LaneHealth } from './health.js';
export type { AuditLogger } from './logger.js';
export { METRIC_NAMES, FSYNC_BUCKETS } from './metrics.js';
// The file layer's fault seam (runbook §9 drills): wrap node:fs to add fsync latency or fail writes.
export { nodeFileOps, withFaults } from './sinks/fs.js';
export type { FileOps, FileHandleLike, FaultPlan } from './sinks/fs.js';
export type { AuditMetrics, DropReason } from './metrics.js';
export { FORMAT_VERSION, MAX_RECORD_BYTES, OUTCOMES, parseTraceparent, uuidv7 } from './record/record.js';
export type { AuditEvent, Actor, Target, AttributeValue, CapturedBody, Outcome } from './record/record.js';
export { captureBody, createBodyCapture, capturedBody, MAX_BODY_DEPTH } from './record/body.js';
export type { BodyCapture } from './record/body.js';
export type { CaptureBodyOptions } from './record/body.js';
export { DEFAULT_REDACT_HEADERS, DEFAULT_REDACT_KEYS, DEFAULT_CENSOR } from './record/redact.js';
export type { RedactOption } from './record/redact.js';
export type { SignedCheckpoint, VerifiedRecord, VerifyFailureReason } from './log/memory.js';
export { generateKey, keyFileExists, loadSigner, listKeys, generatePqKey, loadPqSigner, listPqKeys } from './sign/keystore.js';
export type { KeyInfo } from './sign/keystore.js';
export { localSigner } from './sign/signer.js';
export type { Signer } from './sign/signer.js';
export { verifyLog } from './verify/verify.js';
export type { VerifyInput, VerifyReport, VerifyFailure } from './verify/verify.js';
export { formatVerifierKey, parseVerifierKey } from './sign/note.js';
export {
  AUDIT_LEVELS,
  DEFAULT_LEVEL,
  DEFAULT_MAX_BODY_BYTES,
  compileRules,
  isAuditLevel,
  resolveLevel,
  httpEvent,
  outcomeOf,
  actionFor,
  UNMATCHED_ROUTE,
  MAX_ATTRIBUTES,
  REQUEST_BODY_ANNOTATION,
  RESPONSE_BODY_ANNOTATION,
  HEADERS_ANNOTATION,
  tapRequestBody,
  defaultActor,
  admit,
  SAFE_METHODS,
  SATURATED_CODE,
  DURABLE_METHODS,
  holdResponse,
  notDurableAnswer,
} from './http/index.js';
export type { AuditLevel, AuditRule, LevelDecision, RouteAuditConfig, HttpExchange, Admission, AdmitOptions, RefusalBody, HoldStart, Replacement, RequestBodyTap, TappedBody } from './http/index.js';
// Export sink, export verifier and receipts (docs/format.md §10–§12).
export { ExportWriter, EXPORT_WRITE_CONCURRENCY } from './sinks/export/writer.js';
export type { ExportWriterOptions, OfferedCheckpoint } from './sinks/export/writer.js';
export { verifyExport, readExportRange } from './verify/export.js';
export type { ExportVerifyOptions, ExportVerifyReport, ExportFailure, ExportFailureReason, ExportRecord } from './verify/export.js';
export { verifyLaneSet, checkLaneSet, LANE_SET_FAILURE_REASONS } from './verify/lanes.js';
export type { LaneSetVerifyReport, LaneSetCheck, LaneSetFailure, LaneSetFailureReason, LaneEntry } from './verify/lanes.js';
export { checkFields, FIELD_FAILURE_REASONS } from './verify/fields.js';
export type { FieldFailure, FieldFailureReason } from './verify/fields.js';
export { formatReceipt, parseReceipt, verifyReceipt, proveFromExport, RECEIPT_HEADER } from './verify/receipt.js';
export type { Receipt, ReceiptVerification, ReceiptFailureReason } from './verify/receipt.js';
export { replayWalToExport } from './sinks/export/replay.js';
export { rebuildWalFromExport, type RebuildResult } from './sinks/wal/rebuild.js';
export { pruneWal, type PruneResult } from './sinks/wal/prune.js';
export type { ReplayResult } from './sinks/export/replay.js';
export { compareWalWithExport } from './verify/wal-export.js';
export type { WalComparison } from './verify/wal-export.js';
// PostgreSQL across replicas (docs/scaling.md, format §14): schema migration and the verifier.
export { migratePg } from './sinks/pg/migrate.js';
export type { MigrateOptions, MigrateResult } from './sinks/pg/migrate.js';
export { verifyPg, DEFAULT_STALE_AFTER_MS } from './verify/pg.js';
export type { PgVerifyOptions, PgVerifyReport, PgLogReport, PgLogStatus, PgFailure, PgFailureReason } from './verify/pg.js';
export { SEALED_EXTENSION } from './log/checkpoint.js';
export { readWal } from './sinks/wal/reader.js';
export type { WalEntry } from './sinks/wal/reader.js';
