import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost, type AbstractHttpAdapter } from '@nestjs/core';
import {
  AuditError,
  admit,
  createAudit,
  httpEvent,
  resolveLevel,
  type AdmitOptions,
  type AuditEngine,
  type AuditEvent,
  type AuditStatus,
  type HealthReason,
  type LevelDecision,
  tapRequestBody,
} from '@ron-audit/core';
import { AUDIT_ROUTE_METADATA, type AuditRouteMetadata } from './decorators.js';
import { DURABLE_METHODS, holdResponse, notDurableAnswer, type HoldStart } from '@ron-audit/core';
import { AUDIT_MODULE_OPTIONS } from './module-definition.js';
import { AUDIT_ID_HEADER, UNMATCHED_ENDPOINT, resolveOptions, type AuditModuleOptions, type AuditSettings } from './options.js';
import { exchangeOf, newState, rawRequest, rawResponse, type Refusal, type RequestState } from './request-state.js';
import { installRouteHook, type RouteInfo } from './route-hook.js';

/** Readiness of the audit trail as the module reports it (/readyz, AuditHealthIndicator). */
export interface AuditReadiness {
  readonly ready: boolean;
  readonly status: AuditStatus;
  readonly reasons: readonly HealthReason[];
}

type NextFn = (err?: unknown) => void;

/** A registered template as a matcher: `:param` one segment, `*` (and `{*splat}`, `(.*)`) the rest. */
function templatePattern(template: string): RegExp {
  let out = '';
  for (const part of template.split(/(\{\*\w*\}|\(\.\*\)|\*|:\w+\??)/)) {
    if (part === '') continue;
    if (part.startsWith(':')) out += part.endsWith('?') ? '[^/]*' : '[^/]+';
    else if (part === '*' || part === '(.*)' || part.startsWith('{*')) out += '.*';
    else out += part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}/?$`);
}

function capturesBodies(level: string | undefined): boolean {
  return level === 'request' || level === 'requestResponse';
}

function closeConnection(st: RequestState): void {
  if (!st.res.headersSent) st.res.setHeader('Connection', 'close');
}

/**
 * The module's one stateful service: it owns (or borrows) the engine and translates Nest's
 * request life cycle into core calls. Three stages see a request:
 *
 * 1. the middleware (every request, matched or not): reserves the slot and sets Audit-Id, unless
 *    the queue is saturated, in which case admission waits for stage 2;
 * 2. the route gate (route known, guards not run yet): applies the route's level; releases the
 *    slot of an opted-out route, or admits a deferred request — answering 503 + Retry-After
 *    there when refused, so that neither guards nor the handler run;
 * 3. the end of the response ('close' of Node's ServerResponse, for finished and aborted requests
 *    alike): fills the slot with httpEvent(), reading the actor then, after authentication — or,
 *    for a write held by `durable`, its first write to Node's ServerResponse (on both platforms
 *    every answer passes there: handler, guard, exception filter), holding the response until
 *    the record is durable.
 */
@Injectable()
export class AuditRuntime implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  readonly engine: AuditEngine;
  readonly settings: AuditSettings;
  private readonly owned: boolean;
  private readonly states = new WeakMap<IncomingMessage, RequestState>();
  /** Requests whose response has not ended, to end their keep-alive when the application shuts down. */
  private readonly live = new Set<RequestState>();
  private readonly registered = new Set<string>();
  /** Every registered route, to name the route of a request answered before Nest routed it (a body parser's 400 or 413). */
  private readonly routes: { readonly method: string; readonly template: string; readonly pattern: RegExp; readonly config: AuditRouteMetadata | undefined }[] = [];
  private adapter: AbstractHttpAdapter | undefined;
  private shuttingDown = false;
  /** Some write response may be held: the `durable` option, or a route registered with `@Audit({ durable: true })`. */
  private holdWrites: boolean;
  /** Some request may be recorded with its body: the module's level or a rule, or a route registered with `@Audit({ level })`. */
  private captureRequests: boolean;
  /** The middleware was mounted when the module was instantiated (Express: ahead of Nest's body parsers). */
  private mountedEarly = false;
  private readonly logger = new Logger('AuditModule');

  constructor(
    @Inject(AUDIT_MODULE_OPTIONS) options: AuditModuleOptions,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {
    const resolved = resolveOptions(options);
    this.settings = resolved.settings;
    this.owned = resolved.engine === undefined;
    this.engine = resolved.engine ?? createAudit(resolved.engineOptions);
    this.holdWrites = this.settings.durable;
    this.captureRequests = capturesBodies(this.settings.level) || this.settings.rules.some((r) => capturesBodies(r.level));
    // On Express, Nest mounts its body parsers in app.init(), before any module's configure();
    // a middleware mounted from there never sees a request the parser refuses (malformed JSON,
    // over the limit), nor the bytes it read. Providers are instantiated at NestFactory.create(),
    // before init(), so mounting here puts the middleware ahead of the parsers. (On Fastify the
    // middleware runs in onRequest, before any parsing, wherever it is mounted.)
    const adapter = this.adapterHost.httpAdapter as AbstractHttpAdapter | undefined;
    if (adapter !== undefined && typeof adapter.getType === 'function' && adapter.getType() === 'express') {
      adapter.use(this.middleware);
      this.mountedEarly = true;
    }
  }

  /** Installs stages 1 and 2: called from AuditModule.configure(), which Nest runs before it applies module middleware and registers routes. */
  attach(): void {
    const adapter = this.adapterHost.httpAdapter as AbstractHttpAdapter | undefined;
    if (adapter === undefined) return;
    const onRegister = (route: RouteInfo): void => {
      this.registered.add(`${route.method} ${route.template}`);
      const config = Reflect.getMetadata(AUDIT_ROUTE_METADATA, route.handler) as AuditRouteMetadata | undefined;
      this.routes.push({ method: route.method, template: route.template, pattern: templatePattern(route.template), config });
      if (config !== undefined && config !== false && config.durable === true) this.holdWrites = true;
      if (config !== undefined && config !== false && capturesBodies(config.level)) this.captureRequests = true;
    };
    if (!installRouteHook(adapter, (route, req, res) => this.gate(route, req, res), onRegister)) {
      throw new AuditError('AUDIT_CONFIG_INVALID', 'AuditModule is imported more than once in this application: import AuditModule.forRoot() once (isGlobal: true shares it)', { key: 'AuditModule' });
    }
    this.adapter = adapter;
    if (!this.mountedEarly) adapter.use(this.middleware);
  }

  /** Stage 1: the middleware, on the HTTP adapter for every request (Express req/res; Node's on Fastify, through @fastify/middie). */
  readonly middleware = (req: object, res: object, next: NextFn): void => {
    const raw = rawRequest(req);
    try {
      if (!this.states.has(raw)) this.begin(raw, rawResponse(res), req, res);
    } catch (err) {
      next(err);
      return;
    }
    next();
  };

  private begin(raw: IncomingMessage, res: ServerResponse, request: object, response: object): RequestState {
    const st = newState(raw, res, request, response);
    // The route's level is not known before the parser runs: tapped whenever some level records bodies.
    if (this.captureRequests) st.bodyTap = tapRequestBody(raw, { maxBytes: this.settings.maxBodyBytes });
    this.states.set(raw, st);
    this.live.add(st);
    res.once('close', () => this.end(st));
    if (this.holdWrites && DURABLE_METHODS.has(st.method)) holdResponse(res, () => this.commitDurable(st));
    if (this.shuttingDown) closeConnection(st);
    // A rule on the path alone can opt a request out before routing (no slot, no Audit-Id).
    const pre = resolveLevel({ method: st.method, route: undefined, path: st.path }, this.settings.rules, undefined, this.settings.level);
    if (pre.level === 'none') return st;
    if (this.engine.isSaturated()) {
      // Refused or not depends on the route (opted out, a read under skipOnError), and the
      // busy_rejections_total label is the route template: both are known at stage 2.
      st.deferred = true;
      return st;
    }
    const admission = admit(this.engine, this.admitOptions(st, UNMATCHED_ENDPOINT, false));
    if (admission.kind === 'admitted') {
      st.slot = admission.slot;
      if (!res.headersSent) res.setHeader(AUDIT_ID_HEADER, admission.slot.id);
    } else if (admission.kind === 'refused') st.refusal = admission;
    else st.passed = st.skip = true;
    return st;
  }

  /** Stage 2. Returns false when it answered the request (503) and the handler must not run. */
  private gate(route: RouteInfo, req: object, res: object): boolean {
    const raw = rawRequest(req);
    const st = this.states.get(raw) ?? this.begin(raw, rawResponse(res), req, res);
    st.request = req;
    st.response = res;
    st.routed = true;
    st.route = route.template;
    const readiness = this.isReadinessRoute(route);
    if (readiness && !this.readiness().ready) {
      this.skip(st);
      this.send(res, 503, this.readiness());
      return false;
    }
    const config = Reflect.getMetadata(AUDIT_ROUTE_METADATA, route.handler) as AuditRouteMetadata | undefined;
    st.durable = config === undefined || config === false ? undefined : config.durable;
    // Probes and scrapes are not audited unless their route says so.
    const decision = this.decide(st, config ?? (readiness || route.template === this.settings.metricsPath ? false : undefined));
    if (decision.level === 'none' || st.passed) return true;
    // A request can pass more than one route (a version filter calls next()): an earlier route may have opted out.
    st.skip = false;
    const longLived = config !== false && config?.longLived === true;
    if (st.slot !== undefined) {
      if (longLived) st.slot.markLongLived();
      return true;
    }
    const admission = st.refusal ?? admit(this.engine, this.admitOptions(st, route.template, longLived));
    st.refusal = undefined;
    if (admission.kind === 'admitted') {
      st.slot = admission.slot;
      if (!st.res.headersSent) st.res.setHeader(AUDIT_ID_HEADER, admission.slot.id);
      return true;
    }
    st.passed = st.skip = true;
    if (admission.kind === 'pass') return true;
    this.refuse(res, admission);
    return false;
  }

  private admitOptions(st: RequestState, endpoint: string, longLived: boolean): AdmitOptions {
    const { skipOnError, retryAfter } = this.settings;
    return { method: st.method, endpoint, longLived, passReadsWhenSaturated: skipOnError, ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }) };
  }

  /** Resolve and store the level of a routed request; an opted-out request gives its slot back. */
  private decide(st: RequestState, config: AuditRouteMetadata | undefined): LevelDecision {
    const decision = resolveLevel({ method: st.method, route: st.route, path: st.path }, this.settings.rules, config, this.settings.level);
    st.decision = decision;
    if (decision.level === 'none') this.skip(st);
    return decision;
  }

  private skip(st: RequestState): void {
    st.skip = true;
    st.slot?.release();
    st.slot = undefined;
    if (!st.res.headersSent) st.res.removeHeader(AUDIT_ID_HEADER);
  }

  /**
   * Called by the interceptor with the metadata Nest resolves for the handler and its class (the
   * gate saw the handler's only). It can opt the request out or change its level and action; it
   * cannot admit a request the gate did not.
   */
  confirm(req: object, config: AuditRouteMetadata | undefined): RequestState | undefined {
    const st = this.states.get(rawRequest(req));
    if (st === undefined || st.ended) return undefined;
    if (config !== undefined && st.routed && !st.skip) {
      this.decide(st, config);
      st.durable = config === false ? undefined : config.durable;
    }
    return st;
  }

  /** Stage 3. */
  private end(st: RequestState): void {
    if (st.ended) return;
    st.ended = true;
    this.live.delete(st);
    const aborted = !st.res.writableFinished;
    if (st.skip || st.committed) return;
    if (!st.routed && st.res.statusCode !== 404) this.routeUnrouted(st);
    const decision = this.decisionOf(st);
    let slot = st.slot;
    st.slot = undefined;
    if (decision.level === 'none') {
      slot?.release();
      return;
    }
    if (slot === undefined) {
      // Saturated at the start and never routed (404, or answered by a middleware): admit now; the
      // response is out, so refused means counted in busy_rejections_total and not recorded.
      if (!st.deferred || st.routed) return;
      const admission = admit(this.engine, this.admitOptions(st, UNMATCHED_ENDPOINT, false));
      if (admission.kind !== 'admitted') return;
      slot = admission.slot;
    }
    slot.commit(this.eventOf(st, decision, aborted));
  }

  /**
   * A request answered before its route ran (the platform's body parser refused it, a middleware
   * answered): the route it was for, and that route's level, still belong in its record.
   */
  private routeUnrouted(st: RequestState): void {
    const route = this.routes.find((r) => (r.method === st.method || r.method === 'ALL') && r.pattern.test(st.path));
    if (route === undefined) return;
    st.route = route.template;
    if (route.config === false) {
      this.skip(st);
      return;
    }
    this.decide(st, route.config);
  }

  /**
   * Stage 3 of a held write: its first write to Node's response, status and body known. Commits
   * the record and answers when it is durable: undefined to send the response as it is, or the
   * 503 that replaces it. Undefined at once for a response that is not held.
   */
  private commitDurable(st: RequestState): HoldStart {
    const slot = st.slot;
    if (st.skip || slot === undefined || !(st.durable ?? this.settings.durable)) return undefined;
    const decision = this.decisionOf(st);
    if (decision.level === 'none') return undefined;
    st.slot = undefined;
    st.committed = true;
    return slot.commitDurable(this.eventOf(st, decision, false)).then(
      () => undefined,
      (err: unknown) => {
        const retryAfter = this.settings.retryAfter ?? this.engine.config.retryAfterSeconds;
        if (!this.settings.durableFailOpen) return notDurableAnswer(retryAfter, err);
        this.logger.error(`record ${slot.id} is not durable (${err instanceof Error ? err.message : String(err)}); the response was sent anyway (durableFailOpen)`);
        return undefined;
      },
    );
  }

  private decisionOf(st: RequestState): LevelDecision {
    return st.decision ?? resolveLevel({ method: st.method, route: st.route, path: st.path }, this.settings.rules, undefined, this.settings.level);
  }

  private eventOf(st: RequestState, decision: LevelDecision, aborted: boolean): AuditEvent {
    try {
      return httpEvent(exchangeOf(st, this.settings, decision, aborted));
    } catch {
      // An admitted request is always recorded: without the details if they cannot be captured.
      return httpEvent({ ...exchangeOf(st, this.settings, decision, aborted), level: 'metadata' });
    }
  }

  /** Ready when the engine is ready (key loaded, not closed) and the application is not shutting down. */
  readiness(): AuditReadiness {
    const h = this.engine.health();
    if (!this.shuttingDown) return { ready: h.ready, status: h.status, reasons: h.reasons };
    const closing = h.status === 'closed' ? 'closed' : 'closing';
    return { ready: false, status: closing, reasons: [...h.reasons.filter((r) => r.code !== 'AUDIT_CLOSED'), { code: 'AUDIT_CLOSED', message: 'the application is shutting down' }] };
  }

  private isReadinessRoute(route: RouteInfo): boolean {
    return route.template === this.settings.readinessPath && (route.method === 'GET' || route.method === 'ALL');
  }

  private send(res: object, status: number, body: object): void {
    this.adapter?.reply(res, body, status);
  }

  private refuse(res: object, refusal: Refusal): void {
    this.adapter?.setHeader(res, 'Retry-After', String(refusal.retryAfterSeconds));
    this.send(res, refusal.statusCode, refusal.body);
  }

  /** Adds the readiness and metrics routes asked for; runs after Nest registered the host's routes. */
  onModuleInit(): void {
    const adapter = this.adapter;
    if (adapter === undefined) return;
    const { readinessPath, addReadiness, metricsPath } = this.settings;
    const hasGet = (path: string): boolean => this.registered.has(`GET ${path}`) || this.registered.has(`ALL ${path}`);
    if (readinessPath !== undefined && addReadiness && !hasGet(readinessPath)) {
      // Reached only when ready: the gate answers 503 before this handler otherwise.
      adapter.get(readinessPath, (_req: unknown, res: object) => this.send(res, 200, this.readiness()));
    }
    if (metricsPath !== undefined && !hasGet(metricsPath)) {
      const registry = this.engine.metrics.registry;
      adapter.get(metricsPath, async (_req: unknown, res: object) => {
        const text = await registry.metrics();
        adapter.setHeader(res, 'Content-Type', registry.contentType);
        adapter.reply(res, text, 200);
      });
    }
  }

  /**
   * Shutting down counts as not ready from here on. Responses still in flight close their
   * connection, so that keep-alive sockets do not hold the server's close (and the drain behind
   * it) until the keep-alive timeout.
   */
  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
    for (const st of this.live) closeConnection(st);
  }

  /** After Nest closed the HTTP server (in-flight requests finished and recorded): drain and close an engine the module created. */
  async onApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    if (this.owned) await this.engine.close();
  }
}
