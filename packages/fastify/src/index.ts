/** @ron-audit/fastify public API. Named exports only. */
export { audit } from './plugin.js';
export type { FastifyAudit } from './plugin.js';
export { DEFAULT_READINESS_PATH, DEFAULT_METRICS_PATH, DEFAULT_SKIP_ON_ERROR, DEFAULT_DURABLE, DEFAULT_DURABLE_FAIL_OPEN } from './options.js';
export type { FastifyAuditOptions, FastifyAuditRouteConfig, ActorResolver } from './options.js';
export { AuditRefusedError, AuditNotDurableError } from './refusal.js';
