import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { DEMO_SECRET, verifyJwt } from './jwt.js';

interface AuthenticatedRequest {
  readonly headers: Record<string, string | string[] | undefined>;
  user?: { id: string; name?: string; roles?: readonly string[] };
}

/** Bearer HS256 JWT (secret from JWT_SECRET). Sets req.user, which the audit module reads when the response ends. */
@Injectable()
export class JwtGuard implements CanActivate {
  private readonly secret = process.env['JWT_SECRET'] ?? DEMO_SECRET;

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const auth = req.headers['authorization'];
    const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
    const claims = token === undefined ? undefined : verifyJwt(token, this.secret);
    if (claims === undefined) throw new UnauthorizedException('a valid bearer token is required');
    req.user = { id: claims.sub, ...(claims.name ? { name: claims.name } : {}), ...(claims.roles ? { roles: claims.roles } : {}) };
    return true;
  }
}
