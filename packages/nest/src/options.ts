import type { IncomingHttpHeaders } from 'node:http';
import {
  AuditError,
  AUDIT_LEVELS,
  DEFAULT_LEVEL,
  DEFAULT_MAX_BODY_BYTES,
  MAX_RECORD_BYTES,
  compileRules,
  isAuditLevel,
  resolveConfig,
  UNMATCHED_ROUTE,
  type Actor,
  type AuditEngine,
  type AuditLevel,
  type AuditRule,
  type CreateAuditOptions,
} from '@ron-audit/core';

/**
 * The options of AuditModule.forRoot / forRootAsync: the adapter's own, plus every createAudit
 * option (used only when the module creates the engine). Resolved once, validated loudly.
 */

export const DEFAULT_READINESS_PATH = '/readyz';
export const DEFAULT_METRICS_PATH = '/metrics';
export const AUDIT_ID_HEADER = 'Audit-Id';
/** Endpoint label of busy_rejections_total for requests no route matched (the core's constant). */
export const UNMATCHED_ENDPOINT = UNMATCHED_ROUTE;
/** Default of `durable`: write responses are not held for their record. */
export const DEFAULT_DURABLE = false;
/** Default of `durableFailOpen`: a held write whose record is not durable is answered 503. */
export const DEFAULT_DURABLE_FAIL_OPEN = false;
/** Retry-After bounds, the same as the engine's AUDIT_RETRY_AFTER_SECONDS. */
const RETRY_AFTER_MIN = 1;
const RETRY_AFTER_MAX = 3600;

/**
 * The request the actor hook receives: what Nest guards see (`switchToHttp().getRequest()`), i.e.
 * the Express Request or the FastifyRequest; for a request no route matched (404) it is the
 * request the middleware saw (Express Request, or Node's IncomingMessage on Fastify).
 */
export interface AuditedRequest {
  readonly headers: IncomingHttpHeaders;
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  /** Set by an authentication guard (Passport, a JWT guard); read when the response ends. */
  readonly user?: unknown;
}

/** createAudit() options for the engine the module creates (`registry` is its own option). */
export type AuditEngineOptions = Omit<CreateAuditOptions, 'registry'>;

export interface AuditModuleOptions {
  /** An engine the host created with createAudit(). The host closes it; the module never does. Exclusive with `engine` and `registry`. */
  audit?: AuditEngine;
  /** Options of the engine the module creates (and closes on shutdown); every AUDIT_* variable fills in what is not given. */
  engine?: AuditEngineOptions;
  /** The host's prom-client Registry for the engine the module creates. Default: a private one. */
  registry?: CreateAuditOptions['registry'];
  /** Level of routes that neither a decorator nor a rule sets. Default `'metadata'`. */
  level?: AuditLevel;
  /** Ordered rules, first match wins; `@Audit()` / `@SkipAudit()` on the handler win over rules. */
  rules?: readonly AuditRule[];
  /** Bytes of a body kept in a record at the `request` / `requestResponse` levels, 0–65535. Default DEFAULT_MAX_BODY_BYTES (8192). */
  maxBodyBytes?: number;
  /** Retry-After (integer seconds, 1–3600) of a 503 on saturation. Default: the engine's retryAfterSeconds (AUDIT_RETRY_AFTER_SECONDS, 1). */
  retryAfter?: number;
  /**
   * When the audit queue is saturated, let GET/HEAD/OPTIONS run unaudited (counted as
   * audit_drop_total{reason="unaudited_pass"}) instead of answering 503. Default false: fail closed.
   * The name is @ron-audit/fastify's, on either Nest platform: the option belongs to the module,
   * not to the platform under it, and an app can switch platforms without renaming it.
   */
  skipOnError?: boolean;
  /** Who made the request, read when the response ends (after guards). Default: defaultActor(req.user). */
  actor?: (req: AuditedRequest) => Actor | undefined;
  /**
   * Readiness. `undefined` (default): a host GET route at /readyz is joined (answers 503 with the
   * reasons while audit is not ready). `true` or a path: join the host's route there, or add one
   * if the host has none. `false`: neither.
   */
  readiness?: boolean | string;
  /** `true` or a path: serve the metrics registry there (GET, text exposition, not audited). Default: no route. */
  metrics?: boolean | string;
  /**
   * Hold the response of every audited write (POST, PUT, PATCH, DELETE) until its record is
   * durable (fsynced in the WAL; in Micronode, under a signed checkpoint). `@Audit({ durable })` wins. Default false.
   */
  durable?: boolean;
  /** When a held write's record cannot be made durable, send the handler's response anyway (logged) instead of 503. Default false. */
  durableFailOpen?: boolean;
}

/** The adapter's options after validation. */
export interface AuditSettings {
  readonly level: AuditLevel;
  readonly rules: readonly AuditRule[];
  readonly maxBodyBytes: number;
  readonly retryAfter: number | undefined;
  readonly skipOnError: boolean;
  readonly actor: ((req: AuditedRequest) => Actor | undefined) | undefined;
  /** Path of the readiness route to join, if any. */
  readonly readinessPath: string | undefined;
  /** Add a readiness route at readinessPath when the host has none. */
  readonly addReadiness: boolean;
  readonly metricsPath: string | undefined;
  readonly durable: boolean;
  readonly durableFailOpen: boolean;
}

export interface ResolvedOptions {
  readonly settings: AuditSettings;
  /** The host's engine, or undefined when the module creates one from `engineOptions`. */
  readonly engine: AuditEngine | undefined;
  readonly engineOptions: CreateAuditOptions;
}

const OPTION_KEYS: readonly string[] = ['audit', 'engine', 'registry', 'level', 'rules', 'maxBodyBytes', 'retryAfter', 'skipOnError', 'actor', 'readiness', 'metrics', 'durable', 'durableFailOpen'];

function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array(${value.length})`;
  switch (typeof value) {
    case 'string':
      return value.length > 40 ? `string(${value.length})` : JSON.stringify(value);
    case 'number':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    default:
      return typeof value;
  }
}

function invalid(name: string, value: unknown, expected: string): AuditError {
  return new AuditError('AUDIT_CONFIG_INVALID', `${name}=${show(value)} is invalid: expected ${expected}`, { key: name });
}

function routePath(name: string, value: unknown, fallback: string): string | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return fallback;
  if (typeof value === 'string' && /^\/[^\s?#]*$/.test(value)) return value;
  throw invalid(name, value, 'a boolean or a path starting with "/"');
}

function isEngine(x: unknown): x is AuditEngine {
  return typeof x === 'object' && x !== null && typeof (x as AuditEngine).reserve === 'function' && typeof (x as AuditEngine).health === 'function' && typeof (x as AuditEngine).close === 'function';
}

/**
 * Validate the module options. Throws AuditError AUDIT_CONFIG_INVALID (or AUDIT_INVALID_ARGUMENT
 * from the core's rule compiler) naming the option. Engine options are checked here too, by the
 * core's own resolver, so that forRoot() fails before Nest starts building the application.
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalid('options', options, 'an options object');
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!OPTION_KEYS.includes(key)) throw invalid(key, o[key], `a known option (${OPTION_KEYS.join(', ')})`);
  const level = o['level'] === undefined ? DEFAULT_LEVEL : o['level'];
  if (!isAuditLevel(level)) throw invalid('level', level, AUDIT_LEVELS.join(' | '));
  const rules = compileRules(o['rules']);
  const maxBodyBytes = o['maxBodyBytes'] === undefined ? DEFAULT_MAX_BODY_BYTES : o['maxBodyBytes'];
  if (typeof maxBodyBytes !== 'number' || !Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 0 || maxBodyBytes > MAX_RECORD_BYTES) {
    throw invalid('maxBodyBytes', maxBodyBytes, `an integer from 0 to ${MAX_RECORD_BYTES}`);
  }
  const retryAfter = o['retryAfter'];
  if (retryAfter !== undefined && (typeof retryAfter !== 'number' || !Number.isSafeInteger(retryAfter) || retryAfter < RETRY_AFTER_MIN || retryAfter > RETRY_AFTER_MAX)) {
    throw invalid('retryAfter', retryAfter, `an integer number of seconds from ${RETRY_AFTER_MIN} to ${RETRY_AFTER_MAX}`);
  }
  const skipOnError = o['skipOnError'] === undefined ? false : o['skipOnError'];
  if (typeof skipOnError !== 'boolean') throw invalid('skipOnError', skipOnError, 'true or false');
  const durable = o['durable'] === undefined ? DEFAULT_DURABLE : o['durable'];
  if (typeof durable !== 'boolean') throw invalid('durable', durable, 'true or false');
  const durableFailOpen = o['durableFailOpen'] === undefined ? DEFAULT_DURABLE_FAIL_OPEN : o['durableFailOpen'];
  if (typeof durableFailOpen !== 'boolean') throw invalid('durableFailOpen', durableFailOpen, 'true or false');
  const actor = o['actor'];
  if (actor !== undefined && typeof actor !== 'function') throw invalid('actor', actor, 'a function (req) => {id, type?, name?, groups?} | undefined');
  const readiness = o['readiness'];
  const readinessPath = readiness === undefined ? DEFAULT_READINESS_PATH : routePath('readiness', readiness, DEFAULT_READINESS_PATH);
  const metricsPath = routePath('metrics', o['metrics'], DEFAULT_METRICS_PATH);
  if (metricsPath !== undefined && metricsPath === readinessPath) throw invalid('metrics', o['metrics'], `a path other than the readiness path ${readinessPath}`);

  const audit = o['audit'];
  const engine = o['engine'];
  const registry = o['registry'];
  if (registry !== undefined && (typeof registry !== 'object' || registry === null || typeof (registry as { metrics?: unknown }).metrics !== 'function')) {
    throw invalid('registry', registry, 'a prom-client Registry');
  }
  if (audit !== undefined) {
    if (!isEngine(audit)) throw invalid('audit', audit, 'an AuditEngine from createAudit()');
    if (engine !== undefined) throw invalid('engine', engine, 'nothing next to `audit` (an existing engine): pass engine options to createAudit()');
    if (registry !== undefined && registry !== audit.metrics.registry) throw invalid('registry', registry, "nothing next to `audit`, or that engine's own registry: pass it to createAudit()");
  }
  if (engine !== undefined && (engine === null || typeof engine !== 'object' || Array.isArray(engine))) throw invalid('engine', engine, 'createAudit() options');
  const engineOptions = { ...(engine as Record<string, unknown> | undefined) };
  if ('registry' in engineOptions) throw invalid('engine.registry', engineOptions['registry'], 'nothing: `registry` is an option of its own');
  if (audit === undefined) {
    // The same split createAudit() makes; resolveConfig rejects unknown keys and bad values, so a
    // typo or a bad AUDIT_* variable fails here, before Nest starts building the application.
    const { logger: _l, signer: _s, fileOps: _f, env, ...config } = engineOptions;
    resolveConfig(config, (env as Record<string, string | undefined> | undefined) ?? process.env);
    if (registry !== undefined) engineOptions['registry'] = registry;
  }
  const settings: AuditSettings = Object.freeze({
    level,
    rules,
    maxBodyBytes,
    retryAfter: retryAfter as number | undefined,
    skipOnError,
    actor: actor as AuditSettings['actor'],
    readinessPath,
    addReadiness: readiness !== undefined && readiness !== false,
    metricsPath,
    durable,
    durableFailOpen,
  });
  return { settings, engine: audit as AuditEngine | undefined, engineOptions: engineOptions as CreateAuditOptions };
}
