import { STATUS_CODES } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import {
  AuditError,
  DEFAULT_LEVEL,
  DEFAULT_MAX_BODY_BYTES,
  MAX_RECORD_BYTES,
  compileRules,
  isAuditLevel,
  AUDIT_LEVELS,
  type Actor,
  type AuditEngine,
  type AuditLevel,
  type AuditRule,
  type CreateAuditOptions,
  type RefusalBody,
  type RouteAuditConfig,
  describe,
} from '@ron-audit/core';

/** prom-client's Registry, as the core takes it (no direct prom-client import needed). */
export type Registry = NonNullable<CreateAuditOptions['registry']>;

/**
 * The adapter's options, named after express-rate-limit's where the concept is the same (`skip`,
 * `handler`, `statusCode`, `message`, `requestPropertyName`, `passOnStoreError`), resolved and
 * validated once when the middleware is created.
 */

/** Default HTTP status of the saturated answer. */
export const DEFAULT_STATUS_CODE = 503;
/** Default name of the per-request handle (`req.audit`). */
export const DEFAULT_REQUEST_PROPERTY_NAME = 'audit';
/** Path answered when `readiness: true`. */
export const DEFAULT_READINESS_PATH = '/readyz';
/**
 * Response bodies at `requestResponse` are buffered up to max(maxBodyBytes, this) bytes. Beyond
 * it the record keeps the true size but a digest of this prefix only (the core has no streaming
 * digest yet), and says so in the annotation `ron-audit.response.digest_bytes`.
 */
export const RESPONSE_CAPTURE_CAP_BYTES = 1024 * 1024;
/** Default of `durable`: write responses are not held for their record. */
export const DEFAULT_DURABLE = false;
/** Default of `durableFailOpen`: a held write whose record is not durable is answered 503. */
export const DEFAULT_DURABLE_FAIL_OPEN = false;
/** Largest Retry-After the adapter accepts, the same bound as AUDIT_RETRY_AFTER_SECONDS. */
const MAX_RETRY_AFTER = 3600;

/** What the saturated answer is built from; handed to a custom `handler`. */
export interface RefusalInfo {
  /** `options.statusCode` (503 unless changed). */
  readonly statusCode: number;
  /** The JSON body's `message`. */
  readonly message: string;
  /** Seconds, as sent in Retry-After. */
  readonly retryAfter: number;
  /** The JSON body the default handler sends. */
  readonly body: Omit<RefusalBody, 'statusCode' | 'error'> & { readonly statusCode: number; readonly error: string };
  /** Why admission was refused (AUDIT_QUEUE_FULL, AUDIT_NOT_READY, AUDIT_CLOSED). */
  readonly error: AuditError;
}

export interface ExpressAuditOptions {
  /** Default level of every route: 'none' | 'metadata' | 'request' | 'requestResponse'. Default 'metadata'. */
  level?: AuditLevel;
  /** Ordered rules, first match wins, after route config (`auditor.route()`). */
  rules?: readonly AuditRule[];
  /** Bytes of body content kept at 'request'/'requestResponse'. Default DEFAULT_MAX_BODY_BYTES (8192). */
  maxBodyBytes?: number;
  /** The actor, read when the response ends (after authentication ran). Default: defaultActor(req.user). */
  actor?: (req: Request) => Actor | undefined;
  /** The route template of a matched request. Default: req.baseUrl + req.route.path; undefined when unmatched. */
  routeLabel?: (req: Request) => string | undefined;
  /** Requests for which this returns true are not admitted, not audited and never refused (probes, /metrics). */
  skip?: (req: Request, res: Response) => boolean | Promise<boolean>;
  /** Answers a refused request. Default: `statusCode` + Retry-After + the JSON body. */
  handler?: (req: Request, res: Response, next: NextFunction, refusal: RefusalInfo) => void;
  /** Status of the refusal. Default 503. */
  statusCode?: number;
  /** `message` of the refusal body. Default: the core's message. */
  message?: string;
  /** Property the per-request handle is put on. Default 'audit' (req.audit). */
  requestPropertyName?: string;
  /** When saturated, let GET/HEAD/OPTIONS run unaudited (counted as audit_drop_total{reason="unaudited_pass"}). Default false: fail closed. */
  passOnStoreError?: boolean;
  /** Retry-After seconds on the refusal. Default: the engine's retryAfterSeconds (AUDIT_RETRY_AFTER_SECONDS, 1). */
  retryAfter?: number;
  /** Answer GET/HEAD on '/readyz' (true) or on this path: 503 while audit is not ready; joins a host route of that path. Default false. */
  readiness?: boolean | string;
  /** prom-client registry for the engine the adapter creates. */
  registry?: Registry;
  /** An engine the host created (and closes). Exclusive with `engine` and `registry`. */
  audit?: AuditEngine;
  /** Options for the engine the adapter creates (and closes); AUDIT_* variables apply. */
  engine?: CreateAuditOptions;
  /**
   * Hold the response of every audited write (POST, PUT, PATCH, DELETE) until its record is
   * durable (fsynced in the WAL; in Micronode, under a signed checkpoint). `auditor.route({durable})` wins. Default false.
   */
  durable?: boolean;
  /** When a held write's record cannot be made durable, send the handler's response anyway instead of 503. Default false. */
  durableFailOpen?: boolean;
}

/** `auditor.route(config)`: the core's per-route settings, plus `durable`. */
export interface ExpressRouteConfig extends RouteAuditConfig {
  /** Hold this route's write responses until their record is durable (wins over the `durable` option). */
  readonly durable?: boolean;
}

export interface ResolvedOptions {
  readonly level: AuditLevel;
  readonly rules: readonly AuditRule[];
  readonly maxBodyBytes: number;
  readonly actor: ((req: Request) => Actor | undefined) | undefined;
  readonly routeLabel: ((req: Request) => string | undefined) | undefined;
  readonly skip: ((req: Request, res: Response) => boolean | Promise<boolean>) | undefined;
  readonly handler: ((req: Request, res: Response, next: NextFunction, refusal: RefusalInfo) => void) | undefined;
  readonly statusCode: number;
  readonly statusText: string;
  readonly message: string | undefined;
  readonly requestPropertyName: string;
  readonly passOnStoreError: boolean;
  readonly retryAfter: number | undefined;
  readonly readinessPath: string | undefined;
  readonly registry: Registry | undefined;
  readonly audit: AuditEngine | undefined;
  readonly engine: CreateAuditOptions | undefined;
  readonly durable: boolean;
  readonly durableFailOpen: boolean;
}

const KNOWN = [
  'level', 'rules', 'maxBodyBytes', 'actor', 'routeLabel', 'skip', 'handler', 'statusCode', 'message',
  'requestPropertyName', 'passOnStoreError', 'retryAfter', 'readiness', 'registry', 'audit', 'engine', 'durable', 'durableFailOpen',
] as const satisfies readonly (keyof ExpressAuditOptions)[];


function invalid(name: string, expected: string, received: unknown): AuditError {
  return new AuditError('AUDIT_INVALID_ARGUMENT', `${name}: expected ${expected}, received ${describe(received)}`, { argument: name });
}

function fn<T>(o: Record<string, unknown>, name: string): T | undefined {
  const v = o[name];
  if (v !== undefined && typeof v !== 'function') throw invalid(name, 'a function', v);
  return v as T | undefined;
}

function int(o: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw invalid(name, `an integer from ${min} to ${max}`, v);
  return v;
}

function isEngine(x: unknown): x is AuditEngine {
  const e = x as Partial<AuditEngine> | null;
  return e !== null && typeof e === 'object' && typeof e.reserve === 'function' && typeof e.health === 'function' && typeof e.close === 'function';
}

/** Validate everything at registration: a typo in an audit policy must fail the start, not a request. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalid('options', 'an options object', options);
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(KNOWN as readonly string[]).includes(key)) throw invalid(key, `a known option (${KNOWN.join(', ')})`, o[key]);
  }
  const level = o['level'] ?? DEFAULT_LEVEL;
  if (!isAuditLevel(level)) throw invalid('level', AUDIT_LEVELS.join(' | '), level);
  const rules = compileRules(o['rules']);
  const statusCode = int(o, 'statusCode', 400, 599) ?? DEFAULT_STATUS_CODE;
  const message = o['message'];
  if (message !== undefined && (typeof message !== 'string' || message.length === 0)) throw invalid('message', 'a non-empty string', message);
  const prop = o['requestPropertyName'] ?? DEFAULT_REQUEST_PROPERTY_NAME;
  if (typeof prop !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(prop)) throw invalid('requestPropertyName', 'an identifier such as "audit"', prop);
  const pass = o['passOnStoreError'] ?? false;
  if (typeof pass !== 'boolean') throw invalid('passOnStoreError', 'true or false', pass);
  const durable = o['durable'] === undefined ? DEFAULT_DURABLE : o['durable'];
  if (typeof durable !== 'boolean') throw invalid('durable', 'true or false', durable);
  const durableFailOpen = o['durableFailOpen'] === undefined ? DEFAULT_DURABLE_FAIL_OPEN : o['durableFailOpen'];
  if (typeof durableFailOpen !== 'boolean') throw invalid('durableFailOpen', 'true or false', durableFailOpen);
  const readiness = o['readiness'] ?? false;
  let readinessPath: string | undefined;
  if (readiness === true) readinessPath = DEFAULT_READINESS_PATH;
  else if (typeof readiness === 'string' && /^\/[^?#\s]*$/.test(readiness)) readinessPath = readiness;
  else if (readiness !== false) throw invalid('readiness', 'true, false or a path such as "/readyz"', readiness);
  const audit = o['audit'];
  if (audit !== undefined && !isEngine(audit)) throw invalid('audit', 'an AuditEngine from createAudit()', audit);
  const engine = o['engine'];
  if (engine !== undefined && (engine === null || typeof engine !== 'object' || Array.isArray(engine))) throw invalid('engine', 'createAudit() options', engine);
  if (audit !== undefined && engine !== undefined) throw invalid('engine', 'no engine options when `audit` (an existing engine) is given', engine);
  const registry = o['registry'];
  if (registry !== undefined && (registry === null || typeof registry !== 'object' || typeof (registry as Registry).metrics !== 'function')) throw invalid('registry', 'a prom-client Registry', registry);
  if (registry !== undefined && audit !== undefined) throw invalid('registry', 'no registry when `audit` is given (the engine already has its metrics)', registry);
  if (registry !== undefined && (engine as CreateAuditOptions | undefined)?.registry !== undefined) throw invalid('registry', 'one registry, either `registry` or `engine.registry`', registry);
  return Object.freeze({
    level,
    rules,
    maxBodyBytes: int(o, 'maxBodyBytes', 0, MAX_RECORD_BYTES) ?? DEFAULT_MAX_BODY_BYTES,
    actor: fn<ResolvedOptions['actor']>(o, 'actor'),
    routeLabel: fn<ResolvedOptions['routeLabel']>(o, 'routeLabel'),
    skip: fn<ResolvedOptions['skip']>(o, 'skip'),
    handler: fn<ResolvedOptions['handler']>(o, 'handler'),
    statusCode,
    statusText: STATUS_CODES[statusCode] ?? 'Error',
    message: message as string | undefined,
    requestPropertyName: prop,
    passOnStoreError: pass,
    retryAfter: int(o, 'retryAfter', 1, MAX_RETRY_AFTER),
    readinessPath,
    registry: registry as Registry | undefined,
    audit: audit as AuditEngine | undefined,
    engine: engine as CreateAuditOptions | undefined,
    durable,
    durableFailOpen,
  });
}

const ROUTE_KEYS = ['level', 'action', 'longLived', 'durable'];

/** auditor.route(config), validated when the route is declared. */
export function validateRouteConfig(config: unknown): ExpressRouteConfig | false {
  if (config === false) return false;
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw invalid('route(config)', '{level?, action?, longLived?, durable?} or false', config);
  const c = config as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!ROUTE_KEYS.includes(key)) throw invalid(`route(config).${key}`, `one of ${ROUTE_KEYS.join(', ')}`, c[key]);
  }
  if (c['level'] !== undefined && !isAuditLevel(c['level'])) throw invalid('route(config).level', AUDIT_LEVELS.join(' | '), c['level']);
  const action = c['action'];
  if (action !== undefined && (typeof action !== 'string' || action.length === 0 || action.length > 256)) throw invalid('route(config).action', 'a string of 1–256 characters', action);
  if (c['longLived'] !== undefined && typeof c['longLived'] !== 'boolean') throw invalid('route(config).longLived', 'true or false', c['longLived']);
  if (c['durable'] !== undefined && typeof c['durable'] !== 'boolean') throw invalid('route(config).durable', 'true or false', c['durable']);
  return Object.freeze({ ...c }) as ExpressRouteConfig;
}
