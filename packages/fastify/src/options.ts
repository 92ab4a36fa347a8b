import {
  AuditError,
  DEFAULT_LEVEL,
  DEFAULT_MAX_BODY_BYTES,
  MAX_RECORD_BYTES,
  compileRules,
  defaultActor,
  isAuditLevel,
  AUDIT_LEVELS,
  type Actor,
  type AuditEngine,
  type AuditLevel,
  type AuditRule,
  type CreateAuditOptions,
  describe,
} from '@ron-audit/core';
import type { FastifyRequest } from 'fastify';

/**
 * The plugin's options, named after the Fastify ecosystem's own (`skipOnError` and `retryAfter`
 * as in @fastify/rate-limit, `readiness` in the spirit of @fastify/under-pressure), their named
 * defaults, and their one-time validation into a frozen config.
 */

export const DEFAULT_READINESS_PATH = '/readyz';
export const DEFAULT_METRICS_PATH = '/metrics';
export const DEFAULT_SKIP_ON_ERROR = false;
/** Writes are answered as soon as the response is ready, not held until their record is durable. */
export const DEFAULT_DURABLE = false;
/** A durable write whose record cannot be made durable is answered 503, not sent as the handler made it. */
export const DEFAULT_DURABLE_FAIL_OPEN = false;

/** Who made the request. Called after authentication ran (preHandler) and again at the end if it had no answer then. */
export type ActorResolver = (request: FastifyRequest) => Actor | undefined | null;

export interface FastifyAuditOptions {
  /** An engine the host created and owns (the plugin then only flushes it on close). Excludes `engine` and `registry`. */
  audit?: AuditEngine;
  /** Options for the engine the plugin creates and closes (AUDIT_* variables fill in the rest). */
  engine?: Omit<CreateAuditOptions, 'registry'>;
  /** The host's prom-client registry for the audit metrics; default: a private one (`app.audit.engine.metrics.registry`). */
  registry?: NonNullable<CreateAuditOptions['registry']>;
  /** Level of a route that neither its config nor a rule sets. Default `'metadata'`. */
  level?: AuditLevel;
  /** Ordered rules, first match wins; a route's own `config.audit` wins over them. */
  rules?: readonly AuditRule[];
  /** Body bytes kept in a record at `request`/`requestResponse`; size and digest always cover the whole body. Default 8192. */
  maxBodyBytes?: number;
  /** When the audit queue is saturated, let GET/HEAD/OPTIONS run unaudited (counted as shed) instead of 503. Default false. */
  skipOnError?: boolean;
  /** Retry-After seconds on a 503; default the engine's `retryAfterSeconds` (AUDIT_RETRY_AFTER_SECONDS, 1). */
  retryAfter?: number;
  /** Actor of a request; default `defaultActor(request.user)`. */
  actor?: ActorResolver;
  /**
   * Readiness on GET/HEAD of a path. Default (unset): join the host's own `/readyz` route if it
   * has one. `true` or a path: join the host's route at that path, or answer it if the host has
   * none. `false`: leave readiness alone.
   */
  readiness?: boolean | string;
  /** `true` or a path: serve the registry's metrics there (unaudited). Default: no route. */
  metrics?: boolean | string;
  /**
   * Hold the response of every audited write (POST, PUT, PATCH, DELETE) until its record is
   * durable (fsynced in the WAL; in Micronode, under a signed checkpoint). A route's
   * `config.audit.durable` wins. Default false.
   */
  durable?: boolean;
  /** When a held write's record cannot be made durable, send the handler's response anyway (logged) instead of 503. Default false. */
  durableFailOpen?: boolean;
}

export interface ResolvedOptions {
  readonly level: AuditLevel;
  readonly rules: readonly AuditRule[];
  readonly maxBodyBytes: number;
  readonly skipOnError: boolean;
  readonly retryAfter: number | undefined;
  readonly actor: ActorResolver;
  /** undefined: readiness off. */
  readonly readiness: { readonly path: string; readonly serve: boolean } | undefined;
  readonly metricsPath: string | undefined;
  readonly durable: boolean;
  readonly durableFailOpen: boolean;
}

const KNOWN = ['audit', 'engine', 'registry', 'level', 'rules', 'maxBodyBytes', 'skipOnError', 'retryAfter', 'actor', 'readiness', 'metrics', 'durable', 'durableFailOpen'] as const;


function invalid(option: string, expected: string, received: unknown): AuditError {
  return new AuditError('AUDIT_CONFIG_INVALID', `@ron-audit/fastify option ${option}=${describe(received)} is invalid: expected ${expected}`, { key: option });
}

function routePath(option: string, value: unknown, fallback: string): string | undefined {
  if (value === false) return undefined;
  if (value === true) return fallback;
  if (typeof value === 'string' && /^\/[^\s?#]*$/.test(value)) return value;
  throw invalid(option, 'true, false or a path starting with "/"', value);
}

function isEngine(x: unknown): x is AuditEngine {
  if (x === null || typeof x !== 'object') return false;
  const e = x as Record<string, unknown>;
  return typeof e['reserve'] === 'function' && typeof e['health'] === 'function' && typeof e['close'] === 'function' && typeof e['config'] === 'object';
}

const defaultResolver: ActorResolver = (request) => defaultActor((request as unknown as { user?: unknown }).user);

/** Validate once, at registration; a typo in an option fails the boot, never silently defaults. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalid('options', 'an options object', options);
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(KNOWN as readonly string[]).includes(key) && o[key] !== undefined) throw invalid(key, `a known option (${KNOWN.join(', ')})`, o[key]);
  }
  if (o['audit'] !== undefined) {
    if (!isEngine(o['audit'])) throw invalid('audit', 'an AuditEngine from createAudit()', o['audit']);
    if (o['engine'] !== undefined) throw invalid('engine', 'no engine options together with an existing engine (audit)', o['engine']);
    if (o['registry'] !== undefined && o['registry'] !== o['audit'].metrics.registry) {
      throw invalid('registry', 'the registry the given engine (audit) was created with, or nothing', o['registry']);
    }
  }
  if (o['engine'] !== undefined && (o['engine'] === null || typeof o['engine'] !== 'object' || Array.isArray(o['engine']))) throw invalid('engine', 'an object of createAudit() options', o['engine']);
  if (o['registry'] !== undefined && (o['registry'] === null || typeof (o['registry'] as { metrics?: unknown }).metrics !== 'function')) {
    throw invalid('registry', 'a prom-client Registry', o['registry']);
  }
  const level = o['level'] ?? DEFAULT_LEVEL;
  if (!isAuditLevel(level)) throw invalid('level', AUDIT_LEVELS.join(' | '), level);
  const maxBodyBytes = o['maxBodyBytes'] ?? DEFAULT_MAX_BODY_BYTES;
  if (typeof maxBodyBytes !== 'number' || !Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0 || maxBodyBytes > MAX_RECORD_BYTES) {
    throw invalid('maxBodyBytes', `an integer from 0 to ${MAX_RECORD_BYTES}`, maxBodyBytes);
  }
  const skipOnError = o['skipOnError'] ?? DEFAULT_SKIP_ON_ERROR;
  if (typeof skipOnError !== 'boolean') throw invalid('skipOnError', 'true or false', skipOnError);
  const retryAfter = o['retryAfter'];
  if (retryAfter !== undefined && (typeof retryAfter !== 'number' || !Number.isSafeInteger(retryAfter) || retryAfter < 1 || retryAfter > 3600)) {
    throw invalid('retryAfter', 'an integer number of seconds from 1 to 3600', retryAfter);
  }
  const durable = o['durable'] === undefined ? DEFAULT_DURABLE : o['durable'];
  if (typeof durable !== 'boolean') throw invalid('durable', 'true or false', durable);
  const durableFailOpen = o['durableFailOpen'] === undefined ? DEFAULT_DURABLE_FAIL_OPEN : o['durableFailOpen'];
  if (typeof durableFailOpen !== 'boolean') throw invalid('durableFailOpen', 'true or false', durableFailOpen);
  const actor = o['actor'] ?? defaultResolver;
  if (typeof actor !== 'function') throw invalid('actor', 'a function (request) => {id, type?, name?, groups?} | undefined', actor);
  let readiness: ResolvedOptions['readiness'];
  if (o['readiness'] === undefined) readiness = { path: DEFAULT_READINESS_PATH, serve: false };
  else {
    const path = routePath('readiness', o['readiness'], DEFAULT_READINESS_PATH);
    readiness = path === undefined ? undefined : { path, serve: true };
  }
  const metricsPath = o['metrics'] === undefined ? undefined : routePath('metrics', o['metrics'], DEFAULT_METRICS_PATH);
  if (metricsPath !== undefined && metricsPath === readiness?.path) throw invalid('metrics', `a path other than the readiness path ${readiness.path}`, o['metrics']);
  let rules: readonly AuditRule[];
  try {
    rules = compileRules(o['rules']);
  } catch (err) {
    if (err instanceof AuditError) throw new AuditError('AUDIT_CONFIG_INVALID', `@ron-audit/fastify option ${err.message}`, { key: 'rules' });
    throw err;
  }
  return Object.freeze({ level, rules, maxBodyBytes, skipOnError, retryAfter, actor: actor as ActorResolver, readiness, metricsPath, durable, durableFailOpen });
}

/** `config: { audit: false | { level, action, longLived, durable } }` on a route. */
export interface FastifyAuditRouteConfig {
  readonly level?: AuditLevel;
  /** Action name of the route's records (default "<METHOD> <route>"). */
  readonly action?: string;
  /** The route streams (SSE, downloads): its slot comes from the long-lived pool. */
  readonly longLived?: boolean;
  /** Hold this route's write responses until their record is durable (wins over the plugin's `durable`). */
  readonly durable?: boolean;
}

const ROUTE_KEYS = ['level', 'action', 'longLived', 'durable'];

/** Checked when the route is added (onRoute), so a typo fails the boot like a bad plugin option. */
export function checkRouteConfig(route: string, value: unknown): void {
  if (value === undefined || value === false) return;
  const name = `config.audit of route ${route}`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(name, 'false or {level?, action?, longLived?, durable?}', value);
  const c = value as Record<string, unknown>;
  for (const key of Object.keys(c)) if (!ROUTE_KEYS.includes(key)) throw invalid(`${name} (${key})`, `one of ${ROUTE_KEYS.join(', ')}`, c[key]);
  if (c['level'] !== undefined && !isAuditLevel(c['level'])) throw invalid(`${name} (level)`, AUDIT_LEVELS.join(' | '), c['level']);
  if (c['action'] !== undefined && (typeof c['action'] !== 'string' || c['action'].length === 0 || c['action'].length > 256)) throw invalid(`${name} (action)`, 'a string of 1–256 characters', c['action']);
  if (c['longLived'] !== undefined && typeof c['longLived'] !== 'boolean') throw invalid(`${name} (longLived)`, 'true or false', c['longLived']);
  if (c['durable'] !== undefined && typeof c['durable'] !== 'boolean') throw invalid(`${name} (durable)`, 'true or false', c['durable']);
}
