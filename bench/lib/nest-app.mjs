// The Nest app of bench/http-nest-*.bench.mjs, in plain JavaScript: decorators are applied as
// functions (what TypeScript's emitted code does), so the bench needs no compile step.
import 'reflect-metadata';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AUDIT_ENGINE, AuditModule } from '@ron-audit/nest';
import { engineOptions } from './http-bench.mjs';

class OrdersController {
  get(id) {
    return { id, status: 'shipped' };
  }
}
Controller('orders')(OrdersController);
Param('id')(OrdersController.prototype, 'get', 0);
Get(':id')(OrdersController.prototype, 'get', Object.getOwnPropertyDescriptor(OrdersController.prototype, 'get'));

/** Build and start the app on `adapter` (an ExpressAdapter or a FastifyAdapter); audited unless mode is 'plain'. */
export async function startNest(adapter, mode, dir) {
  class AppModule {}
  Module({
    imports: mode === 'plain' ? [] : [AuditModule.forRoot({ engine: engineOptions(mode, dir) })],
    controllers: [OrdersController],
  })(AppModule);
  const app = await NestFactory.create(AppModule, adapter, { logger: false });
  await app.listen(0, '127.0.0.1');
  return {
    port: app.getHttpServer().address().port,
    engine: mode === 'plain' ? undefined : app.get(AUDIT_ENGINE),
    close: () => app.close(),
  };
}
