export { AUDIT_LEVELS, DEFAULT_LEVEL, DEFAULT_MAX_BODY_BYTES, compileRules, isAuditLevel, resolveLevel } from './levels.js';
export type { AuditLevel, AuditRule, LevelDecision, RouteAuditConfig } from './levels.js';
export { httpEvent, outcomeOf, actionFor, UNMATCHED_ROUTE } from './exchange.js';
export type { HttpExchange } from './exchange.js';
export { defaultActor } from './actor.js';
export { admit, SAFE_METHODS, SATURATED_CODE } from './admit.js';
export type { Admission, AdmitOptions, RefusalBody } from './admit.js';
export { DURABLE_METHODS, holdResponse, notDurableAnswer } from './hold.js';
export type { HoldStart, Replacement } from './hold.js';
