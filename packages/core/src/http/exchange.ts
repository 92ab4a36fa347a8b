import { captureBody, isCapturedBody } from '../record/body.js';
import type { Actor, AuditEvent, Outcome, Target } from '../record/record.js';
import type { AuditLevel } from './levels.js';

/**
 * One HTTP exchange as every adapter sees it, and the one function that turns it into an audit
 * event. Adapters only fill in this shape from their framework; what goes into the record is
 * decided here, once, for all of them.
 */
export interface HttpExchange {
  readonly method: string;
  /** Route template (`/orders/:id`); undefined for unmatched requests (404). */
  readonly route?: string | undefined;
  /** Path without the query string. */
  readonly path: string;
  /** Raw query string without `?` (redacted by the core before it is recorded). */
  readonly query?: string | undefined;
  readonly scheme?: string | undefined;
  readonly status: number;
  readonly aborted: boolean;
  readonly durationMs: number;
  readonly clientAddress?: string | undefined;
  readonly userAgent?: string | undefined;
  readonly requestId?: string | undefined;
  readonly traceparent?: string | undefined;
  readonly actor?: Actor | undefined;
  readonly target?: Target | undefined;
  readonly level: AuditLevel;
  readonly action?: string | undefined;
  readonly requestHeaders?: Readonly<Record<string, string | readonly string[] | number | undefined>> | undefined;
  readonly responseHeaders?: Readonly<Record<string, string | readonly string[] | number | undefined>> | undefined;
  /** Raw bytes or text, the framework's parsed body, or a capturedBody(). Captured at `request` and `requestResponse`. */
  readonly requestBody?: unknown;
  readonly requestContentType?: string | undefined;
  /** Captured at `requestResponse`. */
  readonly responseBody?: unknown;
  readonly responseContentType?: string | undefined;
  readonly maxBodyBytes: number;
  /** An error the handler threw (name and message only are recorded, never a stack). */
  readonly error?: { readonly name?: string; readonly message?: string; readonly code?: string | undefined } | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}

export function outcomeOf(status: number, aborted: boolean, error: unknown): Outcome {
  if (aborted) return 'aborted';
  return error !== undefined || status >= 400 ? 'failure' : 'success';
}

function headerAttributes(prefix: string, headers: HttpExchange['requestHeaders'], into: Record<string, string | number | boolean | string[]>): void {
  if (!headers) return;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    into[`${prefix}${name.toLowerCase()}`] = Array.isArray(value) ? value.map(String) : [String(value)];
  }
}

/** Route label for requests that matched no route (404s): a constant, never the raw URL, so metric labels stay bounded. */
export const UNMATCHED_ROUTE = '(unmatched)';

export function actionFor(method: string, route: string | undefined): string {
  return `${method.toUpperCase()} ${route ?? UNMATCHED_ROUTE}`.slice(0, 256);
}

/** Build the event of one exchange (format §2.2 field names, OpenTelemetry attribute keys). */
export function httpEvent(x: HttpExchange): AuditEvent {
  const attributes: Record<string, string | number | boolean | string[]> = {
    'http.request.method': x.method.toUpperCase(),
    'url.path': x.path,
    'http.server.request.duration': Math.round(x.durationMs * 1000) / 1e6,
  };
  // An aborted request has no response the client saw: no status code is recorded for it
  // (whatever the framework held at the time is not a fact about the exchange).
  if (!x.aborted) attributes['http.response.status_code'] = x.status;
  if (x.route !== undefined) attributes['http.route'] = x.route;
  if (x.query) attributes['url.query'] = x.query;
  if (x.scheme) attributes['url.scheme'] = x.scheme;
  if (x.clientAddress) attributes['client.address'] = x.clientAddress;
  if (x.userAgent) attributes['user_agent.original'] = x.userAgent.slice(0, 1024);
  if (x.error) {
    attributes['error.type'] = (x.error.code ?? x.error.name ?? 'Error').slice(0, 256);
    if (x.error.message) attributes['exception.message'] = x.error.message.slice(0, 1024);
  }
  const detailed = x.level === 'request' || x.level === 'requestResponse';
  if (detailed) {
    headerAttributes('http.request.header.', x.requestHeaders, attributes);
  }
  if (x.level === 'requestResponse') headerAttributes('http.response.header.', x.responseHeaders, attributes);
  const event: Record<string, unknown> = {
    action: x.action ?? actionFor(x.method, x.route),
    outcome: outcomeOf(x.status, x.aborted, x.error),
    attributes,
  };
  if (x.actor) event['actor'] = x.actor;
  if (x.target) event['target'] = x.target;
  if (x.requestId) event['request_id'] = String(x.requestId).slice(0, 256);
  if (x.traceparent) event['traceparent'] = x.traceparent;
  if (x.annotations) event['annotations'] = x.annotations;
  if (detailed) {
    const body: Record<string, unknown> = {};
    const capture = (b: unknown, contentType: string | undefined) => (isCapturedBody(b) ? { ...b } : captureBody(b, { maxBytes: x.maxBodyBytes, contentType }));
    const req = capture(x.requestBody, x.requestContentType);
    if (req) body['request'] = req;
    if (x.level === 'requestResponse') {
      const res = capture(x.responseBody, x.responseContentType);
      if (res) body['response'] = res;
    }
    if (Object.keys(body).length > 0) event['body'] = body;
  }
  return event as unknown as AuditEvent;
}
