import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/**
 * Issue 13 items 4, 5, 6, 8: requests a client can send to keep its body, or its record's HTTP
 * attributes, out of the trail. One table for every adapter (Fastify, Express, Nest on both
 * platforms): each adapter's test mounts `POST /orders` (answering 201) at level `request`,
 * sends every case with sendRaw(), finds the record by its Audit-Id and checks it with
 * hostileRecordProblems(). Not published (core's `files` is dist only), and imported by relative
 * path, so no package depends on another's tests.
 */

const utf8 = new TextEncoder();

export const HOSTILE_ROUTE = '/orders';
/** The adapters' maxBodyBytes: every case but the oversized one is kept whole (not truncated), so content rules apply. */
export const HOSTILE_MAX_BODY_BYTES = 32_768;

/** Bigger than every host's default body limit (Express and Nest-on-Express 100 kB, Fastify 1 MiB). */
export const OVERSIZED_BYTES = 2 * 1024 * 1024 + 1;
export const MANY_HEADERS = 200;

export interface HostileCase {
  readonly name: string;
  readonly body: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  /** The body is beyond the host's limit: answered 413, the record says it was not received (no digest of bytes never read). */
  readonly oversized?: boolean;
  /** The record's body content must be empty and annotated (it cannot be kept as JSON content). */
  readonly omitted?: RegExp;
  /** The record must annotate that headers were left out. */
  readonly manyHeaders?: boolean;
}

const json = { 'content-type': 'application/json' };

function manyHeaders(): Record<string, string> {
  const h: Record<string, string> = { ...json };
  for (let i = 0; i < MANY_HEADERS; i++) h[`x-hostile-${i}`] = `v${i}`;
  return h;
}

export const HOSTILE_CASES: readonly HostileCase[] = [
  { name: '[item 4] lone surrogate', body: utf8.encode('{"item":"\\ud800"}'), headers: json, omitted: /lone surrogate/ },
  { name: '[item 4] 1e400', body: utf8.encode('{"qty":1e400}'), headers: json, omitted: /double range/ },
  { name: '[item 4] 10,000-deep nesting', body: utf8.encode('['.repeat(10_000) + ']'.repeat(10_000)), headers: json, omitted: /nesting deeper/ },
  { name: '[item 5] __proto__ member', body: utf8.encode('{"__proto__":{"admin":true},"item":"x"}'), headers: json, omitted: /__proto__/ },
  { name: '[item 4] invalid UTF-8', body: Uint8Array.from([...utf8.encode('{"item":"'), 0xff, 0xfe, ...utf8.encode('"}')]), headers: json, omitted: /UTF-8/ },
  { name: '[items 4, 8] malformed JSON', body: utf8.encode('{"item":'), headers: json, omitted: /not valid JSON/ },
  { name: '[item 6] oversized', body: new Uint8Array(OVERSIZED_BYTES).fill(0x20), headers: json, oversized: true },
  { name: `[item 8] ${MANY_HEADERS} headers`, body: utf8.encode('{"item":"x"}'), headers: manyHeaders(), manyHeaders: true },
];

export function digestOf(bytes: Uint8Array): string {
  return bytesToHex(blake3(bytes));
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** POST the case's exact bytes (no client-side re-encoding) to `${base}${HOSTILE_ROUTE}`. */
export function sendRaw(base: string, c: HostileCase): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let answered: RawResponse | undefined;
    const req = httpRequest(`${base}${HOSTILE_ROUTE}`, { method: 'POST', headers: { ...c.headers, 'content-length': String(c.body.length), connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => {
        answered = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') };
        resolve(answered);
      });
      res.on('error', reject);
    });
    // A server that refuses an oversized body may close while the client still writes it.
    req.on('error', (err) => (answered === undefined ? reject(err) : undefined));
    req.end(Buffer.from(c.body.buffer, c.body.byteOffset, c.body.byteLength));
  });
}

type Rec = Readonly<Record<string, unknown>>;

/** What is wrong with the record of one hostile request; empty when it is right. */
export function hostileRecordProblems(record: Rec | undefined, c: HostileCase, res: RawResponse): string[] {
  const problems: string[] = [];
  if (record === undefined) return [`${c.name}: no record for Audit-Id ${String(res.headers['audit-id'])}`];
  const attrs = (record['attributes'] ?? {}) as Rec;
  const annotations = (record['annotations'] ?? {}) as Record<string, string>;
  const want: Record<string, unknown> = { 'http.request.method': 'POST', 'http.route': HOSTILE_ROUTE, 'url.path': HOSTILE_ROUTE, 'http.response.status_code': res.status };
  for (const [k, v] of Object.entries(want)) if (attrs[k] !== v) problems.push(`${c.name}: attributes["${k}"] is ${JSON.stringify(attrs[k])}, expected ${JSON.stringify(v)}`);
  if (typeof attrs['client.address'] !== 'string' || attrs['client.address'] === '') problems.push(`${c.name}: no client.address`);
  if (record['action'] !== `POST ${HOSTILE_ROUTE}`) problems.push(`${c.name}: action ${JSON.stringify(record['action'])}`);
  if (typeof (record['actor'] as Rec | undefined)?.['id'] !== 'string') problems.push(`${c.name}: no actor`);
  const body = (record['body'] as Rec | undefined)?.['request'] as Rec | undefined;
  if (c.oversized) {
    if (res.status !== 413) problems.push(`${c.name}: answered ${res.status}, expected 413`);
    // Either the host read it all before refusing (body-parser drains the request): then the
    // digest is of every byte sent; or it refused before reading (Fastify checks Content-Length):
    // then no digest at all, and the record says so. Never a digest of a prefix posing as the body.
    if (body === undefined) {
      if (!/^not received/.test(annotations['ron-audit.body.request'] ?? '')) problems.push(`${c.name}: no body and no "not received" annotation: ${JSON.stringify(annotations)}`);
    } else {
      if (body['digest'] !== digestOf(c.body) || body['size'] !== c.body.length) problems.push(`${c.name}: body digest/size ${String(body['digest'])}/${String(body['size'])} are not those of the ${c.body.length} bytes sent`);
      if (body['truncated'] !== true || body['content'] !== '') problems.push(`${c.name}: oversized body not truncated to no content: ${JSON.stringify(body).slice(0, 200)}`);
    }
    return problems;
  }
  if (body === undefined) return [...problems, `${c.name}: no body.request in ${JSON.stringify(record)}`];
  if (body['digest'] !== digestOf(c.body)) problems.push(`${c.name}: body digest ${String(body['digest'])} is not BLAKE3 of the ${c.body.length} bytes sent (${digestOf(c.body)})`);
  if (body['size'] !== c.body.length) problems.push(`${c.name}: body size ${String(body['size'])}, sent ${c.body.length}`);
  if (JSON.stringify(body['content']).includes('[object Object]')) problems.push(`${c.name}: content is the string of a JavaScript object`);
  if (c.omitted !== undefined) {
    if (body['content'] !== '' || body['encoding'] !== 'utf8') problems.push(`${c.name}: content kept: ${JSON.stringify(body).slice(0, 200)}`);
    if (!c.omitted.test(annotations['ron-audit.body.request'] ?? '')) problems.push(`${c.name}: annotation ${JSON.stringify(annotations['ron-audit.body.request'])} does not match ${String(c.omitted)}`);
  } else if (body['encoding'] !== 'json') problems.push(`${c.name}: a valid JSON body not kept as JSON: ${JSON.stringify(body)}`);
  if (c.manyHeaders) {
    if (!/^\d+ request and \d+ response headers not recorded/.test(annotations['ron-audit.headers_dropped'] ?? '')) problems.push(`${c.name}: no headers_dropped annotation: ${JSON.stringify(annotations)}`);
    if (Object.keys(attrs).length > 128) problems.push(`${c.name}: ${Object.keys(attrs).length} attributes`);
    if (attrs['http.request.header.x-hostile-0'] === undefined) problems.push(`${c.name}: the first headers were not kept`);
  }
  return problems;
}
