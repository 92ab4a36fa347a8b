import { invalidArgument } from '../errors.js';

/**
 * Redaction (pino's `redact` option shape). Applied by the core to every event before its bytes
 * exist, so a redacted value never reaches a record, a hash or a log line.
 *
 * Defaults, always on unless `defaults: false`:
 * - header attributes `http.request.header.<name>` / `http.response.header.<name>` for
 *   DEFAULT_REDACT_HEADERS;
 * - parameters named in DEFAULT_REDACT_KEYS inside the `url.query` attribute;
 * - members named in DEFAULT_REDACT_KEYS (any depth, case-insensitive) inside captured JSON bodies.
 */
export const DEFAULT_REDACT_HEADERS: readonly string[] = Object.freeze(['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-api-key']);
export const DEFAULT_REDACT_KEYS: readonly string[] = Object.freeze([
  'password', 'passwd', 'secret', 'token', 'access_token', 'refresh_token', 'id_token', 'client_secret', 'api_key', 'apikey',
]);
export const DEFAULT_CENSOR = '[REDACTED]';

export type RedactOption =
  | readonly string[]
  | {
      readonly paths?: readonly string[];
      readonly censor?: string;
      readonly remove?: boolean;
      /** Extra header names to redact (lowercase). */
      readonly headers?: readonly string[];
      /** Extra query/body member names to redact. */
      readonly keys?: readonly string[];
      /** Set false to switch off the defaults above (not recommended). */
      readonly defaults?: boolean;
    };

export interface Redactor {
  readonly censor: string;
  readonly remove: boolean;
  readonly headers: ReadonlySet<string>;
  readonly keys: ReadonlySet<string>;
  readonly paths: readonly (readonly string[])[];
}

/** Parse `a.b["c.d"][*].e` into segments; `*` is a wildcard. */
export function parsePath(path: string): string[] {
  const segs: string[] = [];
  const re = /\.?([^.[\]]+)|\[\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(\*|\d+))\s*\]/gy;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(path)) !== null) {
    segs.push(m[1] ?? m[2] ?? m[3] ?? m[4]!);
    last = re.lastIndex;
  }
  if (last !== path.length || segs.length === 0) throw invalidArgument('redact path', 'a path like a.b["c"].*', path);
  return segs;
}

const REDACT_MEMBERS = ['paths', 'censor', 'remove', 'headers', 'keys', 'defaults'];

export function createRedactor(option: RedactOption | undefined): Redactor {
  const o = Array.isArray(option) ? { paths: option as readonly string[] } : ((option ?? {}) as Exclude<RedactOption, readonly string[]>);
  if (typeof o !== 'object' || o === null) throw invalidArgument('redact', 'string[] or {paths, censor, remove}', option);
  // A misspelt member (`path` for `paths`) would otherwise leave the secret it meant to hide in every record.
  for (const key of Object.keys(o)) {
    if (!REDACT_MEMBERS.includes(key)) throw invalidArgument(`redact.${key}`, `one of ${REDACT_MEMBERS.join(', ')}`, (o as Record<string, unknown>)[key]);
  }
  for (const key of ['remove', 'defaults'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') throw invalidArgument(`redact.${key}`, 'boolean', o[key]);
  }
  if (o.paths !== undefined && !Array.isArray(o.paths)) throw invalidArgument('redact.paths', 'an array of paths', o.paths);
  const useDefaults = o.defaults !== false;
  const lower = (xs: readonly string[] | undefined, name: string): string[] => {
    if (xs === undefined) return [];
    if (!Array.isArray(xs) || xs.some((x) => typeof x !== 'string' || x.length === 0)) throw invalidArgument(name, 'an array of non-empty strings', xs);
    return xs.map((x) => x.toLowerCase());
  };
  const censor = o.censor ?? DEFAULT_CENSOR;
  if (typeof censor !== 'string') throw invalidArgument('redact.censor', 'string', censor);
  return Object.freeze({
    censor,
    remove: o.remove === true,
    headers: new Set([...(useDefaults ? DEFAULT_REDACT_HEADERS : []), ...lower(o.headers, 'redact.headers')]),
    keys: new Set([...(useDefaults ? DEFAULT_REDACT_KEYS : []), ...lower(o.keys, 'redact.keys')]),
    paths: (o.paths ?? []).map((p) => {
      if (typeof p !== 'string') throw invalidArgument('redact.paths[]', 'string', p);
      return parsePath(p);
    }),
  });
}

const HEADER_PREFIXES = ['http.request.header.', 'http.response.header.'];

/** Redact in place. `event` is a freshly normalized object owned by the caller. */
/** Marker returned by redactAttribute when the attribute must be left out (`remove: true`). */
export const REMOVED: unique symbol = Symbol('ron-audit.removed');

/**
 * The redacted value of one attribute: sensitive header attributes censored (or REMOVED), secrets
 * in `url.query` censored; anything else unchanged. One rule for the object path and the
 * serializer's fast path alike.
 */
export function redactAttribute(key: string, value: unknown, r: Redactor): unknown {
  if (key === 'url.query') return typeof value === 'string' && r.keys.size > 0 ? redactQuery(value, r) : value;
  if (key.length > 5 && (key.charCodeAt(0) === 0x68 || key.charCodeAt(0) === 0x48) && isRedactedHeader(key, r)) return r.remove ? REMOVED : Array.isArray(value) ? [r.censor] : r.censor;
  return value;
}

/**
 * Whether an attribute key names a header the redactor censors. Header names are case-insensitive;
 * a host that keeps `Authorization` as sent must not leak it. The answer depends only on the key and
 * the redactor (immutable), and keys recur on every record, so it is kept per redactor (bounded).
 */
const headerDecisions = new WeakMap<Redactor, Map<string, boolean>>();
function isRedactedHeader(key: string, r: Redactor): boolean {
  let known = headerDecisions.get(r);
  if (known === undefined) headerDecisions.set(r, (known = new Map()));
  let d = known.get(key);
  if (d === undefined) {
    const lower = key.toLowerCase();
    d = false;
    for (const prefix of HEADER_PREFIXES) if (lower.startsWith(prefix) && r.headers.has(lower.slice(prefix.length))) d = true;
    if (known.size >= 4096) known.clear();
    known.set(key, d);
  }
  return d;
}

export function applyRedaction(event: Record<string, unknown>, r: Redactor): void {
  const attrs = event['attributes'] as Record<string, unknown> | undefined;
  if (attrs) {
    for (const key of Object.keys(attrs)) {
      const v = redactAttribute(key, attrs[key], r);
      if (v === REMOVED) delete attrs[key];
      else attrs[key] = v;
    }
  }
  const body = event['body'] as Record<string, { content?: unknown; encoding?: string }> | undefined;
  if (body) {
    // Always through redactKeys, even with no keys: it copies, so path redaction below never
    // writes into the caller's parsed body (often the live request body).
    for (const part of Object.values(body)) {
      if (part && part.encoding === 'json') part.content = redactKeys(part.content, r);
    }
  }
  for (const path of r.paths) redactPath(event, path, 0, r);
}

export function redactQuery(query: string, r: Redactor): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        /* keep raw */
      }
      return r.keys.has(name.toLowerCase()) ? `${rawName}=${encodeURIComponent(r.censor)}` : pair;
    })
    .filter((pair) => !(r.remove && pair.endsWith(`=${encodeURIComponent(r.censor)}`)))
    .join('&');
}

function redactKeys(value: unknown, r: Redactor, depth = 0): unknown {
  if (depth > 64 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactKeys(v, r, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (r.keys.has(k.toLowerCase())) {
      if (!r.remove) out[k] = r.censor;
    } else {
      out[k] = redactKeys(v, r, depth + 1);
    }
  }
  return out;
}

function redactPath(node: unknown, path: readonly string[], i: number, r: Redactor): void {
  if (node === null || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  const seg = path[i]!;
  const keys = seg === '*' ? Object.keys(obj) : Object.prototype.hasOwnProperty.call(obj, seg) ? [seg] : [];
  for (const k of keys) {
    if (i === path.length - 1) {
      if (r.remove) {
        if (Array.isArray(obj)) obj[k as unknown as number] = null as never;
        else delete obj[k];
      } else {
        obj[k] = r.censor;
      }
    } else {
      redactPath(obj[k], path, i + 1, r);
    }
  }
}
