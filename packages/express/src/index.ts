/** @ron-audit/express public API. Named exports only. */
export { audit } from './middleware.js';
export type { ExpressAudit, ExpressRouteAudit, AuditedRequest } from './middleware.js';
export {
  DEFAULT_STATUS_CODE,
  DEFAULT_REQUEST_PROPERTY_NAME,
  DEFAULT_READINESS_PATH,
  RESPONSE_CAPTURE_CAP_BYTES,
  DEFAULT_DURABLE,
  DEFAULT_DURABLE_FAIL_OPEN,
} from './options.js';
export type { ExpressAuditOptions, ExpressRouteConfig, RefusalInfo } from './options.js';
export type { RequestAudit } from './request-state.js';
export { DIGEST_BYTES_ANNOTATION } from './response-capture.js';
export { AuditNotReadyError } from './readiness.js';
export type { Readiness } from './readiness.js';
