import { AuditError, invalidArgument } from '../errors.js';
import { captureBody, isCapturedBody } from '../record/body.js';
import type { CapturedBody } from '../record/record.js';
import { isRequestBodyTap } from './raw-body.js';
import type { Actor, AuditEvent, Outcome, Target } from '../record/record.js';
import { AUDIT_LEVELS, isAuditLevel, type AuditLevel } from './levels.js';

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
  /**
   * The tapRequestBody() of the request (its digest then covers the bytes as received), raw bytes
   * or text, a capturedBody(), or — second best, for hosts without the bytes — the framework's
   * parsed body. Captured at `request` and `requestResponse`.
   */
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

/** Format §2.2: at most this many attributes; headers take what the exchange's own attributes leave. */
export const MAX_ATTRIBUTES = 128;

type Headers = HttpExchange['requestHeaders'];

function headerEntries(headers: Headers): [string, string[]][] {
  const out: [string, string[]][] = [];
  if (!headers) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out.push([name.toLowerCase(), Array.isArray(value) ? value.map(String) : [String(value)]]);
  }
  return out;
}

/**
 * Add header attributes, at most `room` of them, in the order received. Beyond the attribute
 * limit the event would be invalid and the engine would fall back to the reduced record, losing
 * every HTTP attribute to a client that merely sent many headers; so headers are bounded here
 * instead, and the count left out is annotated. Returns how many were left out.
 */
function addHeaders(prefix: string, entries: readonly [string, string[]][], room: number, into: Record<string, string | number | boolean | string[]>): number {
  let added = 0;
  let dropped = 0;
  for (const [name, value] of entries) {
    const key = `${prefix}${name}`;
    if (key in into) {
      into[key] = [...(into[key] as string[]), ...value];
      continue;
    }
    if (added >= room) {
      dropped++;
      continue;
    }
    into[key] = value;
    added++;
  }
  return dropped;
}

/** The annotation of a body kept out of the record's content, or of one not received whole. */
export const REQUEST_BODY_ANNOTATION = 'ron-audit.body.request';
export const RESPONSE_BODY_ANNOTATION = 'ron-audit.body.response';
export const HEADERS_ANNOTATION = 'ron-audit.headers_dropped';

function captureFor(b: unknown, contentType: string | undefined, maxBytes: number): { body?: CapturedBody | undefined; note?: string | undefined } {
  if (isRequestBodyTap(b)) return b.result();
  if (isCapturedBody(b)) return { body: { ...b } };
  try {
    return { body: captureBody(b, { maxBytes, contentType }) };
  } catch (err) {
    // A parsed value with no canonical form: there are no received bytes to digest instead.
    if (err instanceof AuditError && err.code === 'AUDIT_NOT_CANONICAL') return { note: `omitted: ${err.message}` };
    throw err;
  }
}

/** Route label for requests that matched no route (404s): a constant, never the raw URL, so metric labels stay bounded. */
export const UNMATCHED_ROUTE = '(unmatched)';

export function actionFor(method: string, route: string | undefined): string {
  return `${method.toUpperCase()} ${route ?? UNMATCHED_ROUTE}`.slice(0, 256);
}

/** The members httpEvent reads without a fallback; an adapter's mistake is a typed error, not a TypeError from deep inside. */
function checkExchange(x: HttpExchange): void {
  if (x === null || typeof x !== 'object') throw invalidArgument('exchange', 'an HttpExchange object', x);
  if (typeof x.method !== 'string' || x.method.length === 0) throw invalidArgument('exchange.method', 'a non-empty string', x.method);
  if (typeof x.path !== 'string') throw invalidArgument('exchange.path', 'a string', x.path);
  if (!Number.isSafeInteger(x.status)) throw invalidArgument('exchange.status', 'an integer status code', x.status);
  if (typeof x.durationMs !== 'number' || !Number.isFinite(x.durationMs)) throw invalidArgument('exchange.durationMs', 'a finite number', x.durationMs);
  if (!isAuditLevel(x.level)) throw invalidArgument('exchange.level', AUDIT_LEVELS.join(' | '), x.level);
  if (!Number.isSafeInteger(x.maxBodyBytes) || x.maxBodyBytes < 0) throw invalidArgument('exchange.maxBodyBytes', 'an integer ≥ 0', x.maxBodyBytes);
}

/** Build the event of one exchange (format §2.2 field names, OpenTelemetry attribute keys). */
export function httpEvent(x: HttpExchange): AuditEvent {
  checkExchange(x);
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
  const notes: Record<string, string> = {};
  if (detailed) {
    const req = headerEntries(x.requestHeaders);
    const res = x.level === 'requestResponse' ? headerEntries(x.responseHeaders) : [];
    const room = MAX_ATTRIBUTES - Object.keys(attributes).length;
    // Response headers are the server's own and few; the client controls how many request headers there are.
    const resRoom = Math.min(res.length, Math.floor(room / 2));
    const droppedReq = addHeaders('http.request.header.', req, room - resRoom, attributes);
    const droppedRes = addHeaders('http.response.header.', res, MAX_ATTRIBUTES - Object.keys(attributes).length, attributes);
    if (droppedReq + droppedRes > 0) {
      notes[HEADERS_ANNOTATION] = `${droppedReq} request and ${droppedRes} response headers not recorded (at most ${MAX_ATTRIBUTES} attributes)`;
    }
  }
  const event: Record<string, unknown> = {
    action: x.action ?? actionFor(x.method, x.route),
    outcome: outcomeOf(x.status, x.aborted, x.error),
    attributes,
  };
  if (x.actor) event['actor'] = x.actor;
  if (x.target) event['target'] = x.target;
  if (x.requestId) event['request_id'] = String(x.requestId).slice(0, 256);
  if (x.traceparent) event['traceparent'] = x.traceparent;
  if (detailed) {
    const body: Record<string, unknown> = {};
    const req = captureFor(x.requestBody, x.requestContentType, x.maxBodyBytes);
    if (req.body) body['request'] = req.body;
    const reqNote = req.note ?? (req.body?.omitted === undefined ? undefined : `omitted: ${req.body.omitted}`);
    if (reqNote !== undefined) notes[REQUEST_BODY_ANNOTATION] = reqNote.slice(0, 4096);
    if (x.level === 'requestResponse') {
      const res = captureFor(x.responseBody, x.responseContentType, x.maxBodyBytes);
      if (res.body) body['response'] = res.body;
      const resNote = res.note ?? (res.body?.omitted === undefined ? undefined : `omitted: ${res.body.omitted}`);
      if (resNote !== undefined) notes[RESPONSE_BODY_ANNOTATION] = resNote.slice(0, 4096);
    }
    if (Object.keys(body).length > 0) event['body'] = body;
  }
  if (x.annotations || Object.keys(notes).length > 0) event['annotations'] = { ...x.annotations, ...notes };
  return event as unknown as AuditEvent;
}
