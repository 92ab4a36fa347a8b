import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { defaultActor, type Actor, type Admission, type AuditLevel, type AuditSlot, type HttpExchange, type LevelDecision, type RequestBodyTap } from '@ron-audit/core';
import type { AuditedRequest, AuditSettings } from './options.js';

/**
 * What the module knows about one request between the middleware and the end of the response,
 * and its translation into the core's HttpExchange. Keyed by Node's IncomingMessage, which is the
 * one object every stage can reach on both platforms (Express hands it out directly; Fastify as
 * `request.raw`, and @fastify/middie passes it to Nest middleware).
 */

export type Refusal = Extract<Admission, { kind: 'refused' }>;

export interface RequestState {
  readonly raw: IncomingMessage;
  readonly res: ServerResponse;
  readonly started: number;
  readonly method: string;
  readonly path: string;
  readonly query: string | undefined;
  /** The request and response the route handler got (Express req/res, FastifyRequest/FastifyReply); the middleware's until then. */
  request: object;
  response: object;
  slot: AuditSlot | undefined;
  /** The engine refused at request start for a reason other than saturation (not ready, closed). */
  refusal: Refusal | undefined;
  /** The queue was saturated at request start: admission is decided once the route is known. */
  deferred: boolean;
  /** No record for this request (opted out, passed unaudited, or refused). */
  skip: boolean;
  /** Passed unaudited (engine disabled, or a read under skipOnError) or refused: no route can change that. */
  passed: boolean;
  routed: boolean;
  route: string | undefined;
  decision: LevelDecision | undefined;
  /** The route's own `durable` (@Audit), when it has one. */
  durable: boolean | undefined;
  /** The record was committed before the response went out (a held write): the end commits nothing. */
  committed: boolean;
  responseBody: unknown;
  error: HttpExchange['error'];
  ended: boolean;
  /** The request's bytes as received, tapped in the middleware before any body parser when some level records bodies. */
  bodyTap: RequestBodyTap | undefined;
}

interface WithRaw {
  readonly raw?: unknown;
}

function isNodeMessage(x: unknown): boolean {
  return typeof x === 'object' && x !== null && 'headers' in x && 'socket' in x;
}

/** Node's IncomingMessage behind a platform request (FastifyRequest.raw), or the request itself (Express). */
export function rawRequest(req: object): IncomingMessage {
  const raw = (req as WithRaw).raw;
  return (isNodeMessage(raw) ? raw : req) as IncomingMessage;
}

/** Node's ServerResponse behind a platform response (FastifyReply.raw), or the response itself (Express). */
export function rawResponse(res: object): ServerResponse {
  const raw = (res as WithRaw).raw;
  return (typeof raw === 'object' && raw !== null && typeof (raw as ServerResponse).setHeader === 'function' ? raw : res) as ServerResponse;
}

export function newState(raw: IncomingMessage, res: ServerResponse, request: object, response: object): RequestState {
  const url = (raw as { originalUrl?: string }).originalUrl ?? raw.url ?? '/';
  const q = url.indexOf('?');
  return {
    raw,
    res,
    started: performance.now(),
    method: (raw.method ?? 'GET').toUpperCase(),
    path: q < 0 ? url : url.slice(0, q),
    query: q < 0 || q === url.length - 1 ? undefined : url.slice(q + 1),
    request,
    response,
    slot: undefined,
    refusal: undefined,
    deferred: false,
    skip: false,
    passed: false,
    routed: false,
    route: undefined,
    decision: undefined,
    durable: undefined,
    committed: false,
    responseBody: undefined,
    error: undefined,
    ended: false,
    bodyTap: undefined,
  };
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function stringProp(o: object, key: string): string | undefined {
  const v = (o as Record<string, unknown>)[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function actorOf(st: RequestState, settings: AuditSettings): Actor | undefined {
  const req = st.request as AuditedRequest;
  try {
    return settings.actor ? settings.actor(req) : defaultActor(req.user);
  } catch {
    // A throwing hook must not cost the record of an admitted request; it is then anonymous.
    return undefined;
  }
}

/** Error name/message of what a handler threw (never the stack). */
export function errorOf(err: unknown): HttpExchange['error'] {
  if (err === null || typeof err !== 'object') return { name: 'Error', message: String(err) };
  const e = err as { name?: unknown; message?: unknown; code?: unknown };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : '',
    code: typeof e.code === 'string' ? e.code : undefined,
  };
}

/** The exchange of a request that has ended (or been aborted). Read after guards ran: actor, route, status. */
export function exchangeOf(st: RequestState, settings: AuditSettings, decision: { level: AuditLevel; action?: string | undefined }, aborted: boolean): HttpExchange {
  const { raw, res } = st;
  const req = st.request;
  const headers = raw.headers;
  const body = (req as { body?: unknown }).body;
  return {
    method: st.method,
    route: st.route,
    path: st.path,
    query: st.query,
    scheme: stringProp(req, 'protocol') ?? stringProp(raw, 'protocol'),
    status: res.statusCode,
    aborted,
    durationMs: performance.now() - st.started,
    clientAddress: stringProp(req, 'ip') ?? stringProp(raw, 'ip') ?? raw.socket?.remoteAddress,
    userAgent: firstHeader(headers['user-agent']),
    requestId: firstHeader(headers['x-request-id']) ?? stringProp(req, 'id'),
    traceparent: firstHeader(headers['traceparent']),
    actor: actorOf(st, settings),
    level: decision.level,
    action: decision.action,
    requestHeaders: headers,
    responseHeaders: res.getHeaders(),
    requestBody: st.bodyTap ?? body,
    requestContentType: firstHeader(headers['content-type']),
    responseBody: st.responseBody,
    responseContentType: (() => {
      const ct = res.getHeader('content-type');
      return typeof ct === 'string' ? ct : undefined;
    })(),
    maxBodyBytes: settings.maxBodyBytes,
    error: st.error,
  };
}
