import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import onFinished from 'on-finished';
import { admit, createAudit, resolveLevel, UNMATCHED_ROUTE, type AuditEngine, type AuditError } from '@ron-audit/core';
import { DURABLE_METHODS, holdResponse, notDurableAnswer } from '@ron-audit/core';
import { RESPONSE_CAPTURE_CAP_BYTES, resolveOptions, validateRouteConfig, type ExpressAuditOptions, type ExpressRouteConfig, type RefusalInfo, type ResolvedOptions } from './options.js';
import { readinessOf, readinessBody, AuditNotReadyError } from './readiness.js';
import { DisabledRequestAudit, RequestState, type AuditContext, type RequestAudit } from './request-state.js';
import { wrapResponse } from './response-capture.js';
import { resolveRoute } from './route-template.js';

/**
 * audit(options): the Express middleware. Mounted first, it admits each request before any other
 * middleware or handler runs (reserving its record's slot, or refusing it), and fills the slot when
 * the response is finished or the client is gone — or, for a write held by `durable`, when its
 * first byte is about to go out. Everything that goes into the record is decided by the core
 * (admit, resolveLevel, httpEvent); this file only follows Express's request.
 */

/** Per-route audit settings for `auditor.route()`: the core's RouteAuditConfig plus `durable`, or false to opt out. */
export type ExpressRouteAudit = ExpressRouteConfig | false;

export interface ExpressAudit {
  /** The middleware itself: `app.use(auditor)` before everything else. */
  (req: Request, res: Response, next: NextFunction): void;
  /** The engine in use (the one given as `audit`, or the one created from `engine` options). */
  readonly engine: AuditEngine;
  /** Route-level settings: `app.post('/orders', auditor.route({ level: 'request' }), handler)`; `auditor.route(false)` opts out. */
  route(config: ExpressRouteAudit): RequestHandler;
  /** Error middleware after the routes: records error.type/message on the request's record, then next(err). */
  errorHandler(): ErrorRequestHandler;
  /** Resolves when audit is ready; rejects with an AuditNotReadyError (statusCode 503) otherwise. Bound: pass it as is to @godaddy/terminus. */
  readonly healthCheck: () => Promise<void>;
  /** A handler for a plain readiness route: 200 {status:'ready'} or 503 {status:'not_ready', reasons}. */
  readyz(): RequestHandler;
  /** A handler serving the engine's prom-client registry (mount it where you want /metrics). */
  metricsHandler(): RequestHandler;
  /**
   * Readiness off, then drain: closes the engine if the adapter created it (waiting up to
   * `timeoutMs`, default DEFAULT_CLOSE_TIMEOUT_MS, for in-flight records), else only flushes it.
   * Bound and idempotent.
   */
  readonly close: (options?: { timeoutMs?: number }) => Promise<void>;
}

/** `req.audit` (or the configured property) as seen by handlers. */
export type AuditedRequest = Request & { audit?: RequestAudit };

function pathOf(req: Request): string {
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The levels whose records hold the request body: only then are its bytes tapped. */
function capturesBodies(level: string | undefined): boolean {
  return level === 'request' || level === 'requestResponse';
}

function refuse(o: ResolvedOptions, req: Request, res: Response, next: NextFunction, a: { retryAfterSeconds: number; body: { code: string; message: string }; error: AuditError }): void {
  const message = o.message ?? a.body.message;
  const refusal: RefusalInfo = {
    statusCode: o.statusCode,
    message,
    retryAfter: a.retryAfterSeconds,
    body: { statusCode: o.statusCode, code: a.body.code, error: o.statusText, message },
    error: a.error,
  };
  if (o.handler !== undefined) return o.handler(req, res, next, refusal);
  res.status(refusal.statusCode).set('Retry-After', String(refusal.retryAfter)).json(refusal.body);
}

/** Create the audit middleware. Throws AUDIT_INVALID_ARGUMENT (or the core's AUDIT_CONFIG_INVALID) naming the bad option. */
export function audit(options?: ExpressAuditOptions): ExpressAudit {
  const o = resolveOptions(options);
  const owned = o.audit === undefined;
  const engine: AuditEngine = o.audit ?? createAudit(o.registry !== undefined ? { ...o.engine, registry: o.registry } : (o.engine ?? {}));
  const ctx: AuditContext = {
    options: o,
    responseCap: Math.max(o.maxBodyBytes, RESPONSE_CAPTURE_CAP_BYTES),
    captureResponses: o.level === 'requestResponse' || o.rules.some((r) => r.level === 'requestResponse'),
    captureRequests: capturesBodies(o.level) || o.rules.some((r) => capturesBodies(r.level)),
    holdWrites: o.durable,
  };
  // Only when some request can resolve to 'none' after admission must the level be known before
  // the headers go out (to withdraw Audit-Id); otherwise writeHead is left alone.
  const hasNoneRule = o.rules.some((r) => r.level === 'none');
  const noneAfterAdmission = o.level === 'none' || hasNoneRule;
  const STATE = Symbol('ron-audit.express');
  let closing: Promise<void> | undefined;

  const stateOf = (req: Request): RequestState | undefined => (req as unknown as Record<symbol, RequestState | undefined>)[STATE];

  function attach(req: Request, res: Response): RequestState {
    const state = new RequestState(ctx, req, res);
    (req as unknown as Record<symbol, RequestState>)[STATE] = state;
    (req as unknown as Record<string, RequestAudit>)[o.requestPropertyName] = state;
    return state;
  }

  function admitRequest(req: Request, res: Response, next: NextFunction): void {
    const state = attach(req, res);
    // Only a refusal needs the route before routing: for the metric label, and to see whether a
    // rule opts the route out (it would not be recorded, so it is not refused either: /healthz
    // while the key is missing). So the dry run happens only when refusing. Only an explicit rule
    // counts, never the default level: a route config (auditor.route) that opts a route in is not
    // visible before routing, and the refusal must then fail closed.
    let route: string | undefined;
    const optedOut = (): boolean => {
      route = resolveRoute(req);
      return hasNoneRule && resolveLevel({ method: req.method, route, path: pathOf(req) }, o.rules, undefined, 'metadata').level === 'none';
    };
    const saturated = engine.isSaturated();
    if (saturated && optedOut()) return next();
    const a = admit(engine, {
      method: req.method,
      endpoint: route ?? UNMATCHED_ROUTE,
      passReadsWhenSaturated: o.passOnStoreError,
      ...(o.retryAfter !== undefined ? { retryAfterSeconds: o.retryAfter } : {}),
    });
    if (a.kind === 'refused') {
      if (!saturated && optedOut()) return next();
      return refuse(o, req, res, next, a);
    }
    if (a.kind === 'pass') return next();
    state.slot = a.slot;
    res.setHeader('Audit-Id', a.slot.id);
    // Before any body parser: the route's level is not known yet, so every request is tapped when some level records bodies.
    if (ctx.captureRequests) state.tapBody();
    state.trackRoute();
    if (noneAfterAdmission) {
      const writeHead = res.writeHead;
      res.writeHead = function (this: Response, ...args: unknown[]) {
        state.decide();
        return (writeHead as (...x: unknown[]) => Response).apply(this, args);
      } as Response['writeHead'];
    }
    // Inside the capture wrapper, so that the body the record holds was copied before the commit.
    if (ctx.holdWrites && DURABLE_METHODS.has(req.method)) {
      holdResponse(res, (atEnd) => {
        const pending = state.commitDurable(atEnd);
        if (pending === undefined || pending === 'at-end') return pending;
        return pending.then(
          () => undefined,
          (err: unknown) => (o.durableFailOpen ? undefined : notDurableAnswer(o.retryAfter ?? engine.config.retryAfterSeconds, err)),
        );
      });
    }
    if (ctx.captureResponses) wrapResponse(res, () => state.responseCapture());
    onFinished(res, () => state.finish());
    next();
  }

  // AUDIT_ENABLED=false (fixed for the engine's life): readiness still answers; every other request
  // gets an inert req.audit and goes on — no state, no admission, no listeners, no Audit-Id.
  const disabled = engine.config.enabled === false;

  const middleware = function auditMiddleware(req: Request, res: Response, next: NextFunction): void {
    if (o.readinessPath !== undefined && (req.method === 'GET' || req.method === 'HEAD') && pathOf(req) === o.readinessPath) {
      const r = readinessOf(engine, closing !== undefined);
      if (!r.ready) {
        res.status(503).set('Cache-Control', 'no-store').json(readinessBody(r));
        return;
      }
      // The host has its own readiness route: let it answer (audit is ready, so it decides).
      if (resolveRoute(req) !== undefined) return next();
      res.status(200).set('Cache-Control', 'no-store').json(readinessBody(r));
      return;
    }
    if (disabled) {
      (req as unknown as Record<string, RequestAudit>)[o.requestPropertyName] = new DisabledRequestAudit(req);
      return next();
    }
    if (o.skip === undefined) return admitRequest(req, res, next);
    let skipped: boolean | Promise<boolean>;
    try {
      skipped = o.skip(req, res);
    } catch (err) {
      return next(err);
    }
    if (typeof skipped === 'boolean') {
      if (skipped) {
        attach(req, res);
        return next();
      }
      return admitRequest(req, res, next);
    }
    Promise.resolve(skipped).then((s) => {
      if (s) {
        attach(req, res);
        next();
      } else admitRequest(req, res, next);
    }, next);
  };

  const healthCheck = async (): Promise<void> => {
    const r = readinessOf(engine, closing !== undefined);
    if (!r.ready) throw new AuditNotReadyError(r.reasons);
  };

  const close = (closeOptions?: { timeoutMs?: number }): Promise<void> => {
    closing ??= owned ? engine.close(closeOptions) : engine.flush();
    return closing;
  };

  const auditor = Object.assign(middleware, {
    engine,
    route(config: ExpressRouteAudit): RequestHandler {
      const c = validateRouteConfig(config);
      if (c !== false && c.level === 'requestResponse') ctx.captureResponses = true;
      if (c !== false && capturesBodies(c.level)) ctx.captureRequests = true;
      if (c !== false && c.durable === true) ctx.holdWrites = true;
      return function auditRoute(req: Request, _res: Response, next: NextFunction): void {
        stateOf(req)?.configure(c);
        next();
      };
    },
    errorHandler(): ErrorRequestHandler {
      return function auditErrorHandler(err: unknown, req: Request, _res: Response, next: NextFunction): void {
        stateOf(req)?.recordError(err);
        next(err);
      };
    },
    healthCheck,
    readyz(): RequestHandler {
      return function auditReadyz(_req: Request, res: Response): void {
        const r = readinessOf(engine, closing !== undefined);
        res.status(r.ready ? 200 : 503).set('Cache-Control', 'no-store').json(readinessBody(r));
      };
    },
    metricsHandler(): RequestHandler {
      const registry = engine.metrics.registry;
      return function auditMetrics(_req: Request, res: Response, next: NextFunction): void {
        registry.metrics().then((text) => {
          res.set('Content-Type', registry.contentType).send(text);
        }, next);
      };
    },
    close,
  });
  return auditor;
}
