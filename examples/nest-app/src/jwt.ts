import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A deliberately tiny HS256 JWT check (RFC 7519 / RFC 7515) for the demo, with node:crypto only.
 * A real service would use a maintained library and asymmetric keys.
 */

export const DEMO_SECRET = 'ron-audit-demo-secret-change-me';

export interface JwtClaims {
  readonly sub: string;
  readonly name?: string;
  readonly roles?: readonly string[];
  readonly exp?: number;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export function signJwt(claims: JwtClaims, secret: string): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** The claims of a valid, unexpired HS256 token; undefined for anything else. */
export function verifyJwt(token: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): JwtClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [head, body, sig] = parts as [string, string, string];
  let header: unknown;
  let claims: unknown;
  try {
    header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if ((header as { alg?: unknown }).alg !== 'HS256') return undefined;
  const expected = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  if (typeof claims !== 'object' || claims === null) return undefined;
  const c = claims as Record<string, unknown>;
  if (typeof c['sub'] !== 'string' || c['sub'].length === 0) return undefined;
  if (c['exp'] !== undefined && (typeof c['exp'] !== 'number' || c['exp'] <= nowSeconds)) return undefined;
  return c as unknown as JwtClaims;
}
