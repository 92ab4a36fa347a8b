import type { Actor, AuditLevel, AuditSlot, HttpExchange, RequestBodyTap } from '@ron-audit/core';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * What the plugin learns about one request between its hooks, and the translation of a finished
 * Fastify request into the core's HttpExchange. Nothing here decides what a record contains.
 */
export interface RequestAudit {
  readonly slot: AuditSlot;
  readonly level: AuditLevel;
  readonly action: string | undefined;
  /** Actor as seen in preHandler, after the host's authentication. */
  actor: Actor | undefined;
  actorError: string | undefined;
  error: { name: string; message: string; code: string | undefined } | undefined;
  /** The serialized payload seen in onSend (kept only at requestResponse). */
  responseBody: unknown;
  /** A write whose response is held in onSend until its record is durable (option `durable`). */
  readonly durable: boolean;
  /** The response is held in onSend, waiting for the record to be durable. */
  holding: boolean;
  done: boolean;
  /** The request's bytes as received, at the levels that record bodies (set in onRequest, before any parser). */
  readonly bodyTap: RequestBodyTap | undefined;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function exchangeOf(request: FastifyRequest, reply: FastifyReply, state: RequestAudit, actor: Actor | undefined, aborted: boolean, maxBodyBytes: number): HttpExchange {
  const url = request.url;
  const q = url.indexOf('?');
  // The response's headers and body type are recorded only at requestResponse: reading them is
  // per-request work (reply.getHeaders() copies the header object) that other levels skip.
  const full = state.level === 'requestResponse';
  const responseType = full ? reply.getHeader('content-type') : undefined;
  return {
    method: request.method,
    route: request.routeOptions.url,
    path: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? undefined : url.slice(q + 1),
    scheme: request.protocol,
    status: reply.statusCode,
    aborted,
    durationMs: reply.elapsedTime,
    clientAddress: request.ip,
    userAgent: header(request.headers['user-agent']),
    requestId: request.id,
    traceparent: header(request.headers['traceparent']),
    actor,
    level: state.level,
    action: state.action,
    requestHeaders: request.headers,
    responseHeaders: full ? reply.getHeaders() : undefined,
    requestBody: state.bodyTap ?? request.body,
    requestContentType: header(request.headers['content-type']),
    responseBody: state.responseBody,
    responseContentType: typeof responseType === 'string' ? responseType : undefined,
    maxBodyBytes,
    error: state.error,
    annotations: state.actorError === undefined ? undefined : { 'ron-audit.actor_error': state.actorError.slice(0, 4096) },
  };
}
