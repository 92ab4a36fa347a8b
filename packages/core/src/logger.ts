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

/**
 * Why the engine is not ready, said once at start where a person will see it: on the host's
 * logger when one was given, else on stderr. A host without a logger (Fastify's is off by
 * default, Express has none) would otherwise answer 503 to every request and print nothing.
 */
export function sayNotReady(logger: AuditLogger, level: 'warn' | 'error', obj: object, msg: string): void {
  logger[level](obj, msg);
  if (logger === silentLogger) process.stderr.write(`ron-audit: ${msg}\n`);
}
