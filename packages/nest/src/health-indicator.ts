import { Inject, Injectable } from '@nestjs/common';
import type { AuditStatus, AuditErrorCode } from '@ron-audit/core';
import { AuditRuntime } from './runtime.js';

/**
 * The result of AuditHealthIndicator.isHealthy(key): terminus 11's HealthIndicatorResult shape
 * (`{ [key]: { status: 'up' | 'down', ...details } }`, what HealthIndicatorService's up()/down()
 * return), declared here so that neither this module nor its types need @nestjs/terminus.
 */
export type AuditHealthResult<Key extends string = 'audit'> = Record<
  Key,
  {
    readonly status: 'up' | 'down';
    /** The engine's status, or 'closing' once the application shuts down. */
    readonly audit: AuditStatus;
    readonly reasons?: readonly { readonly code: AuditErrorCode; readonly message: string }[];
  }
>;

/**
 * Health indicator for @nestjs/terminus 11: `() => audit.isHealthy('audit')` in a
 * HealthCheckService.check([...]) list. Terminus 11 reads a returned 'down' as unhealthy (503)
 * without an exception, so no terminus class is needed at run time: hosts without terminus load
 * this package without it (terminus is an optional peer).
 */
@Injectable()
export class AuditHealthIndicator {
  constructor(@Inject(AuditRuntime) private readonly runtime: AuditRuntime) {}

  isHealthy<const Key extends string = 'audit'>(key: Key = 'audit' as Key): AuditHealthResult<Key> {
    const r = this.runtime.readiness();
    const detail = {
      status: r.ready ? ('up' as const) : ('down' as const),
      audit: r.status,
      ...(r.reasons.length > 0 ? { reasons: r.reasons.map((x) => ({ code: x.code, message: x.message })) } : {}),
    };
    return { [key]: detail } as unknown as AuditHealthResult<Key>;
  }
}
