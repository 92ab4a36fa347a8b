import type { Response } from 'express';
import type { AuditEvent } from '@ron-audit/core';

/**
 * Response body capture for `requestResponse`: res.write/res.end are wrapped to copy what the
 * handler sends, bounded. The core's captureBody() wants the whole body (its size and digest cover
 * all of it) and there is no streaming digest yet, so bodies up to `cap` bytes are captured
 * exactly and longer ones keep their true size and a digest of the first `cap` bytes, flagged by
 * an annotation.
 */

export const DIGEST_BYTES_ANNOTATION = 'ron-audit.response.digest_bytes';

type Chunk = string | Uint8Array;

export class ResponseCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes the handler sent in total. */
  total = 0;

  constructor(private readonly cap: number) {}

  add(chunk: unknown, encoding: unknown): void {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : chunk instanceof Uint8Array ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : undefined;
    if (buf === undefined) return;
    this.total += buf.length;
    const room = this.cap - this.kept;
    if (room <= 0) return;
    const part = buf.length <= room ? Buffer.from(buf) : Buffer.from(buf.subarray(0, room));
    this.chunks.push(part);
    this.kept += part.length;
  }

  /** What was kept, for httpEvent() to capture. */
  bytes(): Uint8Array | undefined {
    if (this.total === 0) return undefined;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.kept);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** True when more was sent than kept: size and digest of the captured body then describe a prefix. */
  get overflowed(): boolean {
    return this.total > this.kept;
  }

  /**
   * The event with the response body corrected for an overflow: the true size, truncated, and an
   * annotation with the number of bytes the digest covers.
   */
  correct(event: AuditEvent): AuditEvent {
    const response = event.body?.response;
    if (!this.overflowed || response === undefined) return event;
    return {
      ...event,
      annotations: { ...event.annotations, [DIGEST_BYTES_ANNOTATION]: String(this.kept) },
      body: { ...event.body, response: { ...response, size: this.total, truncated: true } },
    };
  }
}

/** Wrap res.write/res.end so the capture sees every chunk; `before` runs ahead of each (it decides the level). */
export function wrapResponse(res: Response, before: () => ResponseCapture | undefined): void {
  const write = res.write;
  const end = res.end;
  // Copying is best effort: whatever it meets (an unknown encoding), the response goes out unchanged.
  const copy = (chunk: unknown, encoding: unknown): void => {
    try {
      before()?.add(chunk, encoding);
    } catch {
      /* not captured */
    }
  };
  res.write = function (this: Response, chunk: Chunk, ...rest: unknown[]) {
    copy(chunk, rest[0]);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Response['write'];
  res.end = function (this: Response, ...args: unknown[]) {
    copy(args[0], args[1]);
    return (end as (...a: unknown[]) => Response).apply(this, args);
  } as Response['end'];
}
