/** @ron-audit/nest public API: named exports only. */
export { AuditModule } from './module.js';
export { AUDIT_ENGINE, AUDIT_MODULE_OPTIONS } from './module-definition.js';
export type { AuditModuleRootOptions, AuditModuleAsyncOptions } from './module-definition.js';
export { Audit, SkipAudit, AUDIT_ROUTE_METADATA } from './decorators.js';
export type { AuditRouteConfig, AuditRouteMetadata } from './decorators.js';
export { AuditHealthIndicator } from './health-indicator.js';
export type { AuditHealthResult } from './health-indicator.js';
export { AuditInterceptor } from './interceptor.js';
export { AuditRuntime } from './runtime.js';
export type { AuditReadiness } from './runtime.js';
export { AUDIT_ID_HEADER, DEFAULT_DURABLE, DEFAULT_DURABLE_FAIL_OPEN, DEFAULT_METRICS_PATH, DEFAULT_READINESS_PATH, UNMATCHED_ENDPOINT } from './options.js';
export type { AuditEngineOptions, AuditModuleOptions, AuditedRequest } from './options.js';
