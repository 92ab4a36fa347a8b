import { admit, createAudit, DURABLE_METHODS, httpEvent, resolveLevel, tapRequestBody, type Actor, type AdmitOptions, type AuditEngine, type AuditEvent, type AuditHealth } from '@ron-audit/core';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify';
import { fastifyPlugin } from 'fastify-plugin';
import { exchangeOf, type RequestAudit } from './exchange.js';
import { checkRouteConfig, resolveOptions, type FastifyAuditOptions, type FastifyAuditRouteConfig, type ResolvedOptions } from './options.js';
import { AuditNotDurableError, AuditRefusedError } from './refusal.js';

/**
 * The Fastify life cycle mapped onto the core, one hook per step:
 * onRequest admits (reserve a slot before any handler; 503 when saturated), preHandler reads the
 * actor after the host's authentication, onSend keeps the response payload at requestResponse
 * (and, for a durable write, commits the record and holds the response until it is durable),
 * onError stashes the error, onResponse / onRequestAbort commit the record, preClose / onClose
 * report not-ready and drain.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `false` (or level 'none'): no record and no Audit-Id for this route. */
    audit?: false | FastifyAuditRouteConfig;
  }
  interface FastifyInstance {
    audit: FastifyAudit;
  }
}

/** `fastify.audit`: the engine and the questions a host asks it. */
export interface FastifyAudit {
  readonly engine: AuditEngine;
  isSaturated(): boolean;
  /** The engine's health; not ready from the moment the server starts closing. */
  health(): AuditHealth;
  /** Resolves when every record so far is appended and under a signed checkpoint. */
  flush(): Promise<void>;
}

/** Route template label of requests no route matched (the raw URL is never a metric label). */
const UNMATCHED = '(unmatched)';
const kAudit = Symbol('ron-audit.request');

type Carrier = { [kAudit]: (RequestAudit & { reply: FastifyReply }) | null };
const stateOf = (request: FastifyRequest): (RequestAudit & { reply: FastifyReply }) | null => (request as unknown as Carrier)[kAudit];

/** Methods whose responses the `durable` option holds; reads are never held. */
/** Headers that describe the handler's body, dropped when a 503 replaces it. */
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-range', 'content-disposition', 'content-location', 'etag', 'last-modified'];

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function isStream(payload: unknown): boolean {
  return payload !== null && typeof payload === 'object' && typeof (payload as { pipe?: unknown }).pipe === 'function';
}

function resolveActor(opts: ResolvedOptions, request: FastifyRequest, state: RequestAudit): Actor | undefined {
  try {
    return opts.actor(request) ?? undefined;
  } catch (err) {
    state.actorError = err instanceof Error ? err.message : String(err);
    return undefined;
  }
}

/**
 * Fastify's logger is off by default, and then `fastify.log` is a no-op object without a level.
 * The engine is then given no logger, so that why it is not ready goes to stderr (core's
 * sayNotReady) instead of nowhere.
 */
function hasLogger(fastify: FastifyInstance): boolean {
  const level = (fastify.log as { level?: unknown }).level;
  return typeof level === 'string' && level !== 'silent';
}

const auditPlugin: FastifyPluginAsync<FastifyAuditOptions> = async (fastify: FastifyInstance, options: FastifyAuditOptions) => {
  const opts = resolveOptions(options);
  const owned = options.audit === undefined;
  const engine: AuditEngine =
    options.audit ?? createAudit({ ...(hasLogger(fastify) ? { logger: fastify.log } : {}), ...options.engine, ...(options.registry === undefined ? {} : { registry: options.registry }) });
  let closing = false;

  function health(): AuditHealth {
    const h = engine.health();
    if (!closing || !h.ready) return h;
    return { ...h, ready: false, status: 'closing', reasons: [...h.reasons, { code: 'AUDIT_CLOSED', message: 'the server is shutting down' }] };
  }

  const decorator: FastifyAudit = {
    engine,
    isSaturated: () => engine.isSaturated(),
    health,
    flush: () => engine.flush(),
  };
  fastify.decorate('audit', decorator);
  fastify.decorateRequest(kAudit, null);

  /** The record of the exchange so far; undefined (slot given back) when even its metadata cannot be recorded. */
  function eventOf(request: FastifyRequest, state: RequestAudit & { reply: FastifyReply }, aborted: boolean): Omit<AuditEvent, 'id'> | undefined {
    const actor = state.actor ?? resolveActor(opts, request, state);
    const exchange = exchangeOf(request, state.reply, state, actor, aborted, opts.maxBodyBytes);
    try {
      return httpEvent(exchange);
    } catch (err) {
      // An admitted request is always recorded: fall back to the metadata of the exchange.
      request.log.error({ err }, 'ron-audit: could not build the full record; recording metadata only');
      try {
        return httpEvent({ ...exchange, level: 'metadata', annotations: { 'ron-audit.adapter_error': String((err as Error).message).slice(0, 4096) } });
      } catch (again) {
        // Do not hold a queue slot until close for a record that cannot be built at all.
        request.log.error({ err: again }, 'ron-audit: could not record the request');
        state.slot.release();
        return undefined;
      }
    }
  }

  function commit(request: FastifyRequest, aborted: boolean): void {
    const state = stateOf(request);
    if (state === null || state.done) return;
    state.done = true;
    const event = eventOf(request, state, aborted);
    if (event !== undefined) state.slot.commit(event);
  }

  /**
   * A durable write, in onSend: the status and body are final, nothing is on the wire yet. The
   * record is committed now (an abort from here on changes nothing) and the response waits for
   * its fsync; if it cannot be made durable, a 503 replaces it unless durableFailOpen.
   */
  function commitDurable(request: FastifyRequest, reply: FastifyReply, state: RequestAudit & { reply: FastifyReply }, done: (err?: Error | null) => void): void {
    state.done = true;
    const event = eventOf(request, state, false);
    if (event === undefined) {
      done();
      return;
    }
    state.holding = true;
    state.slot.commitDurable(event).then(
      () => {
        state.holding = false;
        done();
      },
      (err: unknown) => {
        state.holding = false;
        if (opts.durableFailOpen) {
          request.log.error({ err, 'audit.id': state.slot.id }, 'ron-audit: the record is not durable; sending the response anyway (durableFailOpen)');
          done();
          return;
        }
        const retryAfter = opts.retryAfter ?? engine.config.retryAfterSeconds;
        for (const name of BODY_HEADERS) reply.removeHeader(name);
        void reply.code(503).header('retry-after', String(retryAfter));
        done(new AuditNotDurableError(state.slot.id, retryAfter, err));
      },
    );
  }

  fastify.addHook('onRoute', (route: RouteOptions) => {
    checkRouteConfig(`${String(route.method)} ${route.url}`, route.config?.audit);
  });

  /** The readiness endpoint, when this request is for it and it is to be answered here; true if answered. */
  function answerReadiness(request: FastifyRequest, reply: FastifyReply, route: string | undefined, method: string): boolean {
    const readiness = opts.readiness;
    if (readiness === undefined || (method !== 'GET' && method !== 'HEAD')) return false;
    const joined = route === readiness.path;
    const served = route === undefined && readiness.serve && pathOf(request.url) === readiness.path;
    if (!joined && !served) return false;
    const h = health();
    // Not ready: answer for the host's route too, with the reason. Ready: the host's route runs (audited as it is configured).
    if (!served && h.ready) return false;
    void reply
      .code(h.ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ ready: h.ready, status: h.status, reasons: h.reasons });
    return true;
  }

  // AUDIT_ENABLED=false (the engine's `enabled`, fixed for its life): nothing on the request path
  // but the readiness endpoint, if one is configured — no admission, no Audit-Id, no record hooks.
  if (engine.config.enabled === false) {
    if (opts.readiness !== undefined) {
      fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
        if (!answerReadiness(request, reply, request.routeOptions.url, request.method)) done();
      });
    }
    installCommon();
    await engine.ready().catch(() => undefined);
    return;
  }

  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const route = request.routeOptions.url;
    const method = request.method;
    if (answerReadiness(request, reply, route, method)) return;
    const config = request.routeOptions.config.audit;
    const decision = resolveLevel({ method, route, path: pathOf(request.url) }, opts.rules, config, opts.level);
    if (decision.level === 'none') {
      done();
      return;
    }
    const admitOptions: AdmitOptions = {
      method,
      endpoint: route ?? UNMATCHED,
      longLived: config !== false && config?.longLived === true,
      passReadsWhenSaturated: opts.skipOnError,
      ...(opts.retryAfter === undefined ? {} : { retryAfterSeconds: opts.retryAfter }),
    };
    const admission = admit(engine, admitOptions);
    if (admission.kind === 'pass') {
      done();
      return;
    }
    if (admission.kind === 'refused') {
      reply.header('retry-after', String(admission.retryAfterSeconds));
      done(new AuditRefusedError(admission));
      return;
    }
    (request as unknown as Carrier)[kAudit] = {
      slot: admission.slot,
      reply,
      level: decision.level,
      action: decision.action,
      actor: undefined,
      actorError: undefined,
      error: undefined,
      responseBody: undefined,
      durable: DURABLE_METHODS.has(method) && ((config === false ? undefined : config?.durable) ?? opts.durable),
      holding: false,
      done: false,
      bodyTap: decision.level === 'request' || decision.level === 'requestResponse' ? tapRequestBody(request.raw, { maxBytes: opts.maxBodyBytes }) : undefined,
    };
    reply.header('audit-id', admission.slot.id);
    done();
  });

  fastify.addHook('preHandler', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const state = stateOf(request);
    if (state !== null) state.actor = resolveActor(opts, request, state);
    done();
  });

  fastify.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err?: Error | null) => void) => {
    // Fastify answers requests that arrive while closing with `Connection: close`; a request already
    // in flight would otherwise leave its keep-alive socket open and hold server.close() — and with
    // it the audit drain in onClose — until keepAliveTimeout.
    if (closing && request.raw.httpVersionMajor === 1) void reply.header('connection', 'close');
    const state = stateOf(request);
    if (state?.holding === true) {
      // A second send while the first is held: an async handler called reply.send() without
      // returning reply, and Fastify sent its return value too. The held response is the answer;
      // letting this one through would answer before the fsync (Fastify's "did you forget to
      // return reply" case, which an asynchronous onSend hook exposes).
      request.log.debug('ron-audit: dropped a second reply.send() made while the response waits for its record to be durable');
      return;
    }
    if (state !== null && !state.done) {
      const stream = isStream(payload);
      if (!stream && state.level === 'requestResponse') state.responseBody = payload;
      if (state.durable) {
        commitDurable(request, reply, state, done);
        return;
      }
      // A streamed body is not captured (it would have to be buffered); the request is long-lived from here on.
      if (stream) state.slot.markLongLived();
    }
    done();
  });

  fastify.addHook('onError', (request: FastifyRequest, _reply: FastifyReply, error: Error & { code?: unknown }, done: () => void) => {
    const state = stateOf(request);
    if (state !== null) state.error = { name: error.name, message: error.message, code: typeof error.code === 'string' ? error.code : undefined };
    done();
  });

  fastify.addHook('onResponse', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    commit(request, false);
    done();
  });

  fastify.addHook('onRequestAbort', (request: FastifyRequest, done: HookHandlerDoneFunction) => {
    commit(request, true);
    done();
  });

  installCommon();

  /** What the plugin installs whether or not the engine audits: the metrics route and the close hooks. */
  function installCommon(): void {
    if (opts.metricsPath !== undefined) {
      const registry = engine.metrics.registry;
      fastify.get(opts.metricsPath, { config: { audit: false } }, async (_request, reply) => {
        void reply.type(registry.contentType);
        return registry.metrics();
      });
    }

    fastify.addHook('preClose', (done: HookHandlerDoneFunction) => {
      closing = true;
      done();
    });

    // Runs after Fastify's server.close() completed, i.e. after in-flight requests committed their slots.
    fastify.addHook('onClose', async () => {
      if (owned) await engine.close();
      else await engine.flush();
    });
  }

  // Let the key load before the first request (a missing key is reported by readiness, not thrown).
  await engine.ready().catch(() => undefined);
};

// fastify-plugin's declarations resolve 'fastify' from where fastify-plugin is installed, which
// can be another copy than the host's (and then lacks this file's augmentation); the wrapper
// returns its argument, so it is typed on this side.
const skipOverride = fastifyPlugin as unknown as <T>(fn: T, meta: { readonly fastify: string; readonly name: string }) => T;

/** `app.register(audit, options)`: one tamper-evident audit record per request. */
export const audit: FastifyPluginAsync<FastifyAuditOptions> = skipOverride(auditPlugin, { fastify: '5.x', name: '@ron-audit/fastify' });
