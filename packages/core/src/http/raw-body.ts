import { invalidArgument } from '../errors.js';
import { captureBody, capturedBody, createBodyCapture, type BodyCapture } from '../record/body.js';
import type { CapturedBody } from '../record/record.js';

/**
 * The request body as it arrived on the wire (after transfer decoding, before any content
 * decoding or parsing), for the body digest of format §2.2. An adapter taps Node's request at
 * admission, before the host's body parser; whatever parser then reads the body (body-parser,
 * Fastify's content-type parsers, multer, a handler iterating the stream) reads it through
 * `emit('data')` — Readable.read() and flowing mode both emit there — so wrapping `emit` sees
 * every byte read without adding a listener. A 'data' listener of our own would switch the
 * stream to flowing mode and lose chunks to a parser attached after an asynchronous middleware.
 *
 * Content is parsed again from these bytes, not taken from the host's parsed body: a handler may
 * have changed that object by the time the record is built, and only the bytes are evidence. The
 * second parse is bounded by maxBytes (a longer JSON body keeps no content).
 *
 * Only bytes the host read are seen. A body it never read (refused for its size before reading,
 * no parser for its type, a client that went away) has no digest; the record then says so.
 */

const TAP = Symbol.for('ron-audit.request-body-tap');

/** What the record learns about a request body: the captured body, and/or why it is incomplete. */
export interface TappedBody {
  readonly body?: CapturedBody | undefined;
  /** Set when the body was not (wholly) read: the `ron-audit.body.request` annotation. */
  readonly note?: string | undefined;
}

interface Emitting {
  emit(event: string | symbol, ...args: unknown[]): boolean;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
}

export class RequestBodyTap {
  readonly [TAP] = true;
  private capture: BodyCapture | undefined;
  private size = 0;
  private ended = false;
  private done: TappedBody | undefined;

  constructor(
    private readonly maxBytes: number,
    private readonly contentType: string | undefined,
    private readonly declared: string | undefined,
    private readonly expectsBody: boolean,
  ) {}

  /** @internal */
  chunk(chunk: unknown): void {
    // Strings only after a host called req.setEncoding(): re-encoded as UTF-8, exact for 'utf8' only.
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk instanceof Uint8Array ? chunk : undefined;
    if (bytes === undefined || bytes.length === 0 || this.ended) return;
    // Created at the first byte: a request without a body costs no buffer.
    this.capture ??= createBodyCapture({ maxBytes: this.maxBytes, contentType: this.contentType });
    this.capture.update(bytes);
    this.size += bytes.length;
  }

  /** @internal */
  end(): void {
    this.ended = true;
  }

  /** The body as far as it was read, for the record. */
  result(): TappedBody {
    return (this.done ??= this.settle());
  }

  private settle(): TappedBody {
    if (this.ended) {
      if (this.capture === undefined) return this.expectsBody ? { body: capturedBody(captureBody(new Uint8Array(0), { maxBytes: this.maxBytes, contentType: this.contentType })!) } : {};
      return { body: capturedBody(this.capture.finish()) };
    }
    if (!this.expectsBody && this.size === 0) return {};
    const of = this.declared === undefined ? '' : ` of ${this.declared} (content-length)`;
    return { note: `not received: the application read ${this.size} bytes${of} and not the rest (refused before reading, no parser for its type, or the client went away); no digest` };
  }
}

export function isRequestBodyTap(x: unknown): x is RequestBodyTap {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[TAP] === true;
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Tap a Node request (IncomingMessage, or any Readable with `headers`) before anything reads its
 * body. Pass the tap as HttpExchange.requestBody; httpEvent() records what it saw. Throws
 * AUDIT_INVALID_ARGUMENT for something that is not a stream or a bad maxBytes.
 */
export function tapRequestBody(req: unknown, options: { readonly maxBytes: number }): RequestBodyTap {
  if (req === null || typeof req !== 'object' || typeof (req as Emitting).emit !== 'function') throw invalidArgument('req', 'a Node request stream', req);
  if (options === null || typeof options !== 'object' || !Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) {
    throw invalidArgument('options.maxBytes', 'an integer ≥ 0', options?.maxBytes);
  }
  const r = req as Emitting;
  const headers = r.headers ?? {};
  const declared = headerText(headers['content-length']);
  const expectsBody = (declared !== undefined && declared !== '0') || headers['transfer-encoding'] !== undefined;
  const tap = new RequestBodyTap(options.maxBytes, headerText(headers['content-type']), declared, expectsBody);
  // HTTP/1.1 has no body without Content-Length or Transfer-Encoding (RFC 9112 §6.3), so most
  // reads are not wrapped at all; HTTP/2 may send a body with neither header.
  if (!expectsBody && (r as { httpVersionMajor?: unknown }).httpVersionMajor !== 2) return tap;
  const emit = r.emit;
  // An own property shadowing the prototype's emit: only this request pays for the wrapper.
  Object.defineProperty(r, 'emit', {
    configurable: true,
    writable: true,
    value: function (this: unknown, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'data') tap.chunk(args[0]);
      else if (event === 'end') tap.end();
      return emit.call(this, event, ...args);
    },
  });
  return tap;
}
