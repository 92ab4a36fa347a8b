import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { logsOf, type AuditEngine } from '@ron-audit/core';
import { AUDIT_ENGINE, AuditModule } from '@ron-audit/nest';
import type { Registry } from 'prom-client';
import { AppController } from './app.controller.js';

/**
 * Prints what an operator needs to verify the log once it is final. Nest runs the root module's
 * shutdown hooks before the AuditModule's, so it closes the engine itself first (after the HTTP
 * server has stopped and every in-flight request was recorded); the module's own close is then a no-op.
 */
@Injectable()
class ShutdownReport implements OnApplicationShutdown {
  constructor(@Inject(AUDIT_ENGINE) private readonly engine: AuditEngine) {}

  async onApplicationShutdown(signal?: string): Promise<void> {
    await this.engine.close();
    // One log, or one per lane with AUDIT_WORKERS > 0.
    for (const log of logsOf(this.engine)) {
      console.log(`audit closed${signal ? ` on ${signal}` : ''}: final checkpoint size=${log.checkpoint()?.size ?? 0}`);
      try {
        console.log(`audit verifier key: ${log.verifierKey()}`);
      } catch {
        console.log('audit verifier key: (no signing key was loaded)');
      }
    }
  }
}

@Module({})
export class AppModule {
  static register(registry: Registry): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // Every AUDIT_* variable applies (createAudit reads them); readiness adds GET /readyz,
        // metrics serves the app's registry (audit metrics included) at GET /metrics.
        AuditModule.forRoot({ registry, readiness: true, metrics: true }),
      ],
      controllers: [AppController],
      providers: [ShutdownReport],
    };
  }
}
