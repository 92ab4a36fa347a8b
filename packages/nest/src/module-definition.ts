import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { AuditModuleOptions } from './options.js';

/** Injection token of the module options (forRoot / forRootAsync). */
export const AUDIT_MODULE_OPTIONS = 'RON_AUDIT_MODULE_OPTIONS';
/** Injection token of the AuditEngine the module uses: `@Inject(AUDIT_ENGINE) engine: AuditEngine`. */
export const AUDIT_ENGINE = 'RON_AUDIT_ENGINE';

export const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = new ConfigurableModuleBuilder<AuditModuleOptions>({
  optionsInjectionToken: AUDIT_MODULE_OPTIONS,
  moduleName: 'Audit',
})
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** forRoot() options: AuditModuleOptions plus `isGlobal` (export AUDIT_ENGINE to every module). */
export type AuditModuleRootOptions = typeof OPTIONS_TYPE;
/** forRootAsync() options: `{ imports?, useFactory, inject?, isGlobal? }` (or useClass / useExisting). */
export type AuditModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
