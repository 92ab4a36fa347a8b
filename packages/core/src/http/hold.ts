import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { isAuditError } from '../errors.js';

/**
 * Holding a write's response until its record is durable (option `durable`). Node writes a
 * response through writeHead/flushHeaders/write/end; the first of them, when the status and the
 * body are known and nothing is on the wire yet, is where the record is committed. That call and
 * every later one are queued until the commit settles, then replayed in order — or dropped for
 * a 503 when the record cannot be made durable.
 */

/** Methods whose responses are held; reads are never held. */
export const DURABLE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Headers that describe the handler's body, dropped when the 503 replaces it. */
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-range', 'content-disposition', 'content-location', 'etag', 'last-modified', 'transfer-encoding'];

/** An answer that replaces the held one. */
export interface Replacement {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The 503 of a held write whose record is not durable: the handler ran, its effects are not provably audited. */
export function notDurableAnswer(retryAfterSeconds: number, cause: unknown): Replacement {
  const reason = isAuditError(cause) ? cause.code : 'AUDIT_NOT_DURABLE';
  const body = {
    statusCode: 503,
    code: 'AUDIT_NOT_DURABLE',
    error: 'Service Unavailable',
    message: `The request was processed, but its audit record could not be made durable (${reason}): its effects are not provably audited. Check its outcome before retrying.`,
  };
  return { statusCode: 503, headers: { 'retry-after': String(retryAfterSeconds), 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) };
}

type Writer = 'writeHead' | 'flushHeaders' | 'write' | 'end';
type Call = { readonly name: Writer; readonly args: unknown[] };
type Fn = (...args: unknown[]) => unknown;

/** What writeHead(status, [reason], [headers]) would do to the response's state, done now (the call itself waits). */
function applyHead(res: ServerResponse, args: unknown[]): boolean {
  const status = args[0];
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 999) return false;
  res.statusCode = status;
  const headers = typeof args[1] === 'string' ? args[2] : args[1];
  if (headers !== null && typeof headers === 'object' && !Array.isArray(headers)) {
    for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) if (value !== undefined) res.setHeader(name, value);
  }
  return true;
}

/** What `start` answers: not held (undefined), held until the promise settles, or held and asked again at end(). */
export type HoldStart = Promise<Replacement | undefined> | undefined | 'at-end';

/**
 * Wrap `res` so that `start(false)` runs at its first write. It returns undefined (send as
 * usual), 'at-end' (hold, and call start(true) when end() comes: the whole body is wanted), or a
 * promise: until it settles the response is held — the handler sees it as sent (headersSent),
 * writes are queued — then it resolves to undefined (replay the queued calls, on the status and
 * headers the response had when it was held) or to a Replacement (send that instead; later
 * writes are dropped).
 */
export function holdResponse(res: ServerResponse, start: (atEnd: boolean) => HoldStart): void {
  const original: Record<Writer, Fn> = {
    writeHead: res.writeHead as Fn,
    flushHeaders: res.flushHeaders as Fn,
    write: res.write as Fn,
    end: res.end as Fn,
  };
  let phase: 'open' | 'collecting' | 'holding' | 'released' | 'replaced' = 'open';
  const queue: Call[] = [];
  let status = 0;
  let headers: OutgoingHttpHeaders = {};

  const returned = (name: Writer): unknown => (name === 'write' ? true : name === 'flushHeaders' ? undefined : res);

  function settle(outcome: Replacement | undefined): void {
    delete (res as { headersSent?: boolean }).headersSent;
    const calls = queue.splice(0);
    phase = outcome === undefined ? 'released' : 'replaced';
    if (res.destroyed) return;
    try {
      // The response as it was held: whatever ran meanwhile (an error handler that saw it as sent) does not change it.
      res.statusCode = status;
      for (const name of res.getHeaderNames()) if (!(name in headers)) res.removeHeader(name);
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value);
      if (outcome !== undefined) {
        for (const name of BODY_HEADERS) res.removeHeader(name);
        for (const [name, value] of Object.entries(outcome.headers)) res.setHeader(name, value);
        res.setHeader('content-length', Buffer.byteLength(outcome.body));
        res.statusMessage = STATUS_CODES[outcome.statusCode] ?? '';
        original.writeHead.call(res, outcome.statusCode);
        original.end.call(res, outcome.body);
        return;
      }
      for (const call of calls) original[call.name].apply(res, call.args);
    } catch {
      // Node would have thrown this to the handler (a bad status, header or chunk); it is too late for that.
      res.destroy();
    }
  }

  function wait(pending: Promise<Replacement | undefined>): void {
    phase = 'holding';
    pending.then(settle, () => settle(undefined));
  }

  function intercept(name: Writer, args: unknown[]): unknown {
    if (phase === 'released') return original[name].apply(res, args);
    if (phase === 'replaced') return returned(name);
    if (phase === 'holding' || phase === 'collecting') {
      // After end(), Node would ignore or refuse more; the held response is complete.
      if (queue.some((c) => c.name === 'end')) return returned(name);
      queue.push({ name, args });
      if (phase === 'collecting' && name === 'end') {
        const pending = start(true);
        if (pending === undefined || pending === 'at-end') settle(undefined);
        else wait(pending);
      }
      return returned(name);
    }
    // A writeHead Node would refuse throws to the handler, as it would have without the hold.
    if (name === 'writeHead' && !applyHead(res, args)) {
      phase = 'released';
      return original[name].apply(res, args);
    }
    const pending = start(name === 'end');
    if (pending === undefined) {
      phase = 'released';
      return original[name].apply(res, args);
    }
    status = res.statusCode;
    headers = res.getHeaders();
    queue.push({ name, args });
    Object.defineProperty(res, 'headersSent', { configurable: true, get: () => true });
    if (pending === 'at-end') phase = 'collecting';
    else wait(pending);
    return returned(name);
  }

  for (const name of Object.keys(original) as Writer[]) {
    (res as unknown as Record<Writer, Fn>)[name] = function (this: ServerResponse, ...args: unknown[]) {
      return intercept(name, args);
    };
  }
}
