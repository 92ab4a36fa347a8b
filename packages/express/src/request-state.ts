import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import {
  actionFor,
  defaultActor,
  httpEvent,
  outcomeOf,
  resolveLevel,
  type Actor,
  type AuditEvent,
  type AuditLevel,
  type AuditSlot,
  type DurableReceipt,
  type HttpExchange,
  type LevelDecision,
  type RequestBodyTap,
  type Target,
  tapRequestBody,
} from '@ron-audit/core';
import { DURABLE_METHODS } from '@ron-audit/core';
import type { ExpressRouteConfig, ResolvedOptions } from './options.js';
import { ResponseCapture } from './response-capture.js';
import { resolveRoute, routeOf } from './route-template.js';

/**
 * One request's audit state, from admission to the record. Also the handle the host sees as
 * `req.audit` (RequestAudit): the record id, the level, and setters for what only the handler knows.
 */

/** The per-request handle, at `req[requestPropertyName]` (default `req.audit`). */
export interface RequestAudit {
  /** The record id (also the Audit-Id header); undefined when this request is not audited (skipped, opted out, passed unaudited). */
  readonly id: string | undefined;
  /** X-Request-Id of the request, or a generated UUID; recorded as request_id. */
  readonly requestId: string;
  /** The route's audit level (decided once the route is known). */
  readonly level: AuditLevel;
  /** Set the actor explicitly (wins over the `actor` option and req.user). */
  setActor(actor: Actor): void;
  /** The object acted upon, e.g. {type: 'order', id: '42'}. */
  setTarget(target: Target): void;
  /** Add a string annotation to the record. */
  annotate(key: string, value: string): void;
}

/**
 * `req.audit` while the engine is disabled (AUDIT_ENABLED=false): the same interface, nothing
 * recorded, and no per-request work beyond this object — the request id is read (or made) only
 * if the host asks for it.
 */
export class DisabledRequestAudit implements RequestAudit {
  private rid: string | undefined;
  constructor(private readonly req: Request) {}
  get id(): undefined {
    return undefined;
  }
  get requestId(): string {
    return (this.rid ??= requestIdOf(this.req));
  }
  get level(): AuditLevel {
    return 'none';
  }
  setActor(): void {}
  setTarget(): void {}
  annotate(): void {}
}

/** What every request of one middleware instance shares. */
export interface AuditContext {
  readonly options: ResolvedOptions;
  /** Bytes of a response buffered at most (digest cap). */
  readonly responseCap: number;
  /** Whether res.write/res.end are wrapped (some route may be 'requestResponse'). */
  captureResponses: boolean;
  /** Whether request bodies are tapped as they are read (some route may be 'request' or 'requestResponse'). */
  captureRequests: boolean;
  /** Whether write responses are held (the `durable` option, or some route's `durable: true`). */
  holdWrites: boolean;
}

function requestIdOf(req: Request): string {
  const given = req.headers['x-request-id'];
  const id = Array.isArray(given) ? given[0] : given;
  return typeof id === 'string' && id.length > 0 ? id : randomUUID();
}

function pathAndQuery(url: string): { path: string; query: string | undefined } {
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  if (path[0] !== '/') {
    // absolute-form request target (proxies): keep the path only
    try {
      path = new URL(path).pathname;
    } catch {
      /* not a URL: record it as given */
    }
  }
  return { path, query: q === -1 ? undefined : url.slice(q + 1) };
}

function errorOf(err: unknown): HttpExchange['error'] {
  if (err === null || typeof err !== 'object') return { name: 'Error', message: String(err) };
  const e = err as { name?: unknown; message?: unknown; code?: unknown };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : '',
    code: typeof e.code === 'string' ? e.code : undefined,
  };
}

export class RequestState implements RequestAudit {
  slot: AuditSlot | undefined;
  readonly requestId: string;
  /** Route template captured when Express matched the route (see trackRoute). */
  route: string | undefined;
  private readonly started = performance.now();
  private readonly path: string;
  private readonly query: string | undefined;
  private decision: LevelDecision | undefined;
  private routeConfig: ExpressRouteConfig | false | undefined;
  private actor: Actor | undefined;
  private target: Target | undefined;
  private annotations: Record<string, string> | undefined;
  private error: HttpExchange['error'];
  private capture: ResponseCapture | undefined;
  private bodyTap: RequestBodyTap | undefined;

  constructor(
    private readonly ctx: AuditContext,
    private readonly req: Request,
    private readonly res: Response,
  ) {
    this.requestId = requestIdOf(req);
    const pq = pathAndQuery(req.originalUrl ?? req.url);
    this.path = pq.path;
    this.query = pq.query;
  }

  get id(): string | undefined {
    return this.slot?.id;
  }

  get level(): AuditLevel {
    // Reading the level must not fix it: before routing, the route (and its config) is not known yet.
    return (this.decision ?? this.resolve()).level;
  }

  setActor(actor: Actor): void {
    this.actor = actor;
  }

  setTarget(target: Target): void {
    this.target = target;
  }

  annotate(key: string, value: string): void {
    (this.annotations ??= {})[key] = value;
  }

  /** At admission, before any body parser reads the request: its bytes as received, for the record. */
  tapBody(): void {
    this.bodyTap = tapRequestBody(this.req, { maxBytes: this.ctx.options.maxBodyBytes });
  }

  /** errorHandler(): the error the handler passed on. */
  recordError(err: unknown): void {
    this.error = errorOf(err);
  }

  /** auditor.route(config): per-route settings, decided at once (the route is known by now). */
  configure(config: ExpressRouteConfig | false): void {
    this.routeConfig = config;
    this.decision = undefined;
    if (config !== false && config.longLived === true) this.slot?.markLongLived();
    this.decide();
  }

  /**
   * Express sets `req.route` when a route matches, while req.baseUrl still names the router that
   * matched it; by the time an error handler at the top writes the response, baseUrl has been
   * restored to the parent's. So the template is taken at the assignment.
   */
  trackRoute(): void {
    let value: unknown;
    const label = this.ctx.options.routeLabel;
    Object.defineProperty(this.req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => value,
      set: (route: unknown) => {
        value = route;
        let template: string | undefined;
        if (label !== undefined) {
          try {
            template = label(this.req);
          } catch {
            template = undefined;
          }
        }
        this.route = template ?? routeOf(this.req);
      },
    });
  }

  /** The level, decided once the route is known: at the first header or body write, or at the end. */
  decide(): LevelDecision {
    if (this.decision !== undefined) return this.decision;
    const d = this.resolve();
    this.decision = d;
    if (d.level === 'none') {
      if (this.slot !== undefined) {
        this.slot.release();
        this.slot = undefined;
        if (!this.res.headersSent) this.res.removeHeader('Audit-Id');
      }
    } else if (d.level === 'requestResponse' && this.slot !== undefined && this.ctx.captureResponses) {
      this.capture ??= new ResponseCapture(this.ctx.responseCap);
    }
    return d;
  }

  private resolve(): LevelDecision {
    const o = this.ctx.options;
    return resolveLevel({ method: this.req.method, route: this.route, path: this.path }, o.rules, this.routeConfig, o.level);
  }

  /** For the res.write/res.end wrappers. */
  responseCapture(): ResponseCapture | undefined {
    return this.decide().level === 'requestResponse' ? this.capture : undefined;
  }

  /** The response is finished (or the client went away): fill the slot. */
  finish(): void {
    const d = this.decide();
    const slot = this.slot;
    if (slot === undefined) return;
    this.slot = undefined;
    slot.commit(this.event(d, !this.res.writableEnded));
  }

  /**
   * A held write's first byte is about to go out (`atEnd`: its last one): fill the slot now and
   * say when the record is durable. Undefined when this response is not held (not audited, a
   * read, or `durable` off for its route); the slot is then filled at the end as usual.
   * 'at-end' at requestResponse before end(): the record wants the whole body, so the commit
   * waits for it (and the response is held meanwhile).
   */
  commitDurable(atEnd: boolean): Promise<DurableReceipt> | undefined | 'at-end' {
    const d = this.decide();
    const slot = this.slot;
    if (slot === undefined || !DURABLE_METHODS.has(this.req.method)) return undefined;
    const config = this.routeConfig === false ? undefined : this.routeConfig;
    if (!(config?.durable ?? this.ctx.options.durable)) return undefined;
    if (!atEnd && this.capture !== undefined) return 'at-end';
    this.slot = undefined;
    return slot.commitDurable(this.event(d, false));
  }

  private event(d: LevelDecision, aborted: boolean): AuditEvent {
    // Answered before routing (a body parser refused the body, a middleware answered): the
    // route the request was for is still a fact of the record; a 404 matched none by definition.
    if (this.route === undefined && this.res.statusCode !== 404) this.route = resolveRoute(this.req);
    try {
      const event = httpEvent(this.exchange(d, aborted));
      return this.capture !== undefined ? this.capture.correct(event) : event;
    } catch (err) {
      // An admitted request is always recorded; a hook that threw leaves a reduced record.
      const attributes: Record<string, string | number> = { 'http.request.method': this.req.method, 'url.path': this.path, 'http.response.status_code': this.res.statusCode };
      if (this.route !== undefined) attributes['http.route'] = this.route;
      if (typeof this.req.ip === 'string') attributes['client.address'] = this.req.ip;
      const reduced: AuditEvent = {
        action: d.action ?? actionFor(this.req.method, this.route),
        outcome: outcomeOf(this.res.statusCode, aborted, this.error),
        attributes,
        annotations: { 'ron-audit.adapter_error': err instanceof Error ? err.message.slice(0, 1024) : String(err).slice(0, 1024) },
      };
      return this.actor === undefined ? reduced : { ...reduced, actor: this.actor };
    }
  }

  private exchange(d: LevelDecision, aborted: boolean): HttpExchange {
    const { req, res } = this;
    const o = this.ctx.options;
    const detailed = d.level === 'request' || d.level === 'requestResponse';
    return {
      method: req.method,
      route: this.route,
      path: this.path,
      query: this.query,
      scheme: req.protocol,
      status: res.statusCode,
      aborted,
      durationMs: performance.now() - this.started,
      clientAddress: req.ip,
      userAgent: headerText(req.headers['user-agent']),
      requestId: this.requestId,
      traceparent: headerText(req.headers['traceparent']),
      actor: this.actor ?? (o.actor !== undefined ? o.actor(req) : defaultActor((req as { user?: unknown }).user)),
      target: this.target,
      level: d.level,
      action: d.action,
      requestHeaders: detailed ? req.headers : undefined,
      responseHeaders: d.level === 'requestResponse' ? res.getHeaders() : undefined,
      requestBody: detailed ? (this.bodyTap ?? (req as { body?: unknown }).body) : undefined,
      requestContentType: headerText(req.headers['content-type']),
      responseBody: this.capture?.bytes(),
      responseContentType: headerText(res.getHeader('content-type')),
      maxBodyBytes: o.maxBodyBytes,
      error: this.error,
      annotations: this.annotations,
    };
  }
}

function headerText(v: string | number | readonly string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0] : String(v);
}
