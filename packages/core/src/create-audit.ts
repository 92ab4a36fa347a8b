import type { AuditEngine, AuditLogView, CreateAuditOptions } from './api.js';
import { Engine } from './engine.js';
import { invalidArgument } from './errors.js';
import { LanedEngine } from './lanes/laned.js';
import { resolveCreateOptions } from './queue/front.js';

/** Create an audit engine. Synchronous; await `engine.ready()` to know it can sign (≤ 1 s normally). */
export function createAudit(options: CreateAuditOptions = {}): AuditEngine {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidArgument('options', 'an options object', options);
  // Worker lanes when asked for and auditing is on; a disabled engine has nothing to run.
  const { config } = resolveCreateOptions(options);
  return config.workers > 0 && config.enabled ? new LanedEngine(options) : new Engine(options);
}

/**
 * The logs an engine writes: each lane's with worker lanes, else the engine's own. For shutdown
 * reports and the like, where one code path should print every log whatever AUDIT_WORKERS is.
 */
export function logsOf(engine: AuditEngine): readonly AuditLogView[] {
  if (engine === null || typeof engine !== 'object' || !Array.isArray((engine as Partial<AuditEngine>).lanes)) throw invalidArgument('engine', 'an AuditEngine (createAudit())', engine);
  if (engine.lanes.length > 0) return engine.lanes;
  return [{ origin: engine.origin, checkpoint: () => engine.checkpoint(), verifierKey: () => engine.verifierKey() }];
}
