import { Inject, Module, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AuditHealthIndicator } from './health-indicator.js';
import { AuditInterceptor } from './interceptor.js';
import { AUDIT_ENGINE, ConfigurableModuleClass, type AuditModuleRootOptions } from './module-definition.js';
import { resolveOptions } from './options.js';
import { AuditRuntime } from './runtime.js';

/**
 * `AuditModule.forRoot(options)` / `AuditModule.forRootAsync({ imports, useFactory, inject })`.
 * Import it once, in the root module (or with `isGlobal: true`).
 */
@Module({
  providers: [
    AuditRuntime,
    AuditHealthIndicator,
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
    { provide: AUDIT_ENGINE, useFactory: (runtime: AuditRuntime) => runtime.engine, inject: [AuditRuntime] },
  ],
  exports: [AUDIT_ENGINE, AuditHealthIndicator],
})
export class AuditModule extends ConfigurableModuleClass implements NestModule {
  constructor(@Inject(AuditRuntime) private readonly runtime: AuditRuntime) {
    super();
  }

  /** Validates the options now (AuditError naming the option), before Nest builds the application. */
  static forRoot(options: AuditModuleRootOptions): DynamicModule {
    if (options !== null && typeof options === 'object') {
      const { isGlobal: _isGlobal, ...rest } = options;
      resolveOptions(rest);
    } else resolveOptions(options);
    return super.forRoot(options);
  }

  /**
   * Nest calls configure() of every module before it applies their middleware and before it
   * registers the controllers' routes. The route gate must be in place before the routes; the
   * middleware goes straight onto the HTTP adapter (as app.use() would), so that it runs for every
   * request, matched or not, before the middleware of any module — whatever the module order.
   */
  configure(_consumer: MiddlewareConsumer): void {
    this.runtime.attach();
  }
}
