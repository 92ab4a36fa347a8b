import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { tap, type Observable } from 'rxjs';
import { AUDIT_ROUTE_METADATA, type AuditRouteMetadata } from './decorators.js';
import { errorOf } from './request-state.js';
import { AuditRuntime } from './runtime.js';

/**
 * Global interceptor (APP_INTERCEPTOR): reads @Audit/@SkipAudit of the handler and its controller
 * with the Reflector, and keeps what only the handler's observable shows: the value it returned
 * (the response body at the requestResponse level) and the error it threw. Interceptors never see
 * requests that guards reject or that match no route; the middleware and the route gate do.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    @Inject(AuditRuntime) private readonly runtime: AuditRuntime,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const config = this.reflector.getAllAndOverride<AuditRouteMetadata | undefined>(AUDIT_ROUTE_METADATA, [context.getHandler(), context.getClass()]);
    const st = this.runtime.confirm(context.switchToHttp().getRequest<object>(), config);
    if (st === undefined || st.skip) return next.handle();
    return next.handle().pipe(
      tap({
        next: (value: unknown) => {
          st.responseBody = value;
        },
        error: (err: unknown) => {
          st.error = errorOf(err);
        },
      }),
    );
  }
}
