// A tiny HS256 JWT check with node:crypto, enough for the example's bearer tokens. A real service
// would use a maintained library (jose) and its identity provider's keys.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The demo secret, used when JWT_SECRET is not set. Never deploy with it. */
export const DEMO_JWT_SECRET = 'ron-audit-demo-secret';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** Sign claims as an HS256 JWT (for the example's token script and tests). */
export function signHs256(claims, secret, expiresInSeconds = 3600) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ iat: now, exp: now + expiresInSeconds, ...claims }));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** The claims of a valid, unexpired HS256 token, or undefined. */
export function verifyHs256(token, secret, nowSeconds = Math.floor(Date.now() / 1000)) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts;
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  // The algorithm is fixed, never taken from the token ("alg": "none" and key confusion).
  if (header?.alg !== 'HS256' || claims === null || typeof claims !== 'object') return undefined;
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  if (typeof claims.exp === 'number' && nowSeconds >= claims.exp) return undefined;
  if (typeof claims.nbf === 'number' && nowSeconds < claims.nbf) return undefined;
  return claims;
}
