import { invalidArgument } from './errors.js';

/** The subset of pino's interface the engine uses; pino, fastify's logger and console-like shims fit. */
export interface AuditLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: AuditLogger = { info() {}, warn() {}, error() {} };

/** A pino-compatible logger, or the silent one when none is given; anything else is an error, not silence. */
export function toAuditLogger(logger: unknown): AuditLogger {
  if (logger === undefined) return silentLogger;
  const l = logger as Partial<AuditLogger> | null;
  if (l === null || typeof l.info !== 'function' || typeof l.warn !== 'function' || typeof l.error !== 'function') {
    throw invalidArgument('logger', 'an object with info, warn and error methods (pino-compatible)', logger);
  }
  return logger as AuditLogger;
}
