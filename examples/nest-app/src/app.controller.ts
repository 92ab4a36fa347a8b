import { Body, Controller, Get, HttpCode, NotFoundException, Param, Post, UseGuards } from '@nestjs/common';
import { Audit, SkipAudit } from '@ron-audit/nest';
import { JwtGuard } from './auth.guard.js';

const ITEMS: Record<string, { id: string; name: string }> = {
  '1': { id: '1', name: 'teapot' },
  '2': { id: '2', name: 'kettle' },
};

@Controller()
export class AppController {
  /** Liveness: the process answers. Not audited (and never refused when the audit queue is full). */
  @Get('healthz')
  @SkipAudit()
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Public read, audited at the default level (metadata). */
  @Get('items/:id')
  item(@Param('id') id: string): { id: string; name: string } {
    const item = ITEMS[id];
    if (item === undefined) throw new NotFoundException(`no item ${id}`);
    return item;
  }

  /**
   * Authenticated write: the record's actor comes from the bearer token; the request body is
   * recorded. Durable: the 201 waits until the record is fsynced in the WAL, so an order a client
   * saw accepted survives a crash (drills/crash.mjs); the reads above are not held.
   */
  @Post('orders')
  @HttpCode(201)
  @UseGuards(JwtGuard)
  @Audit({ level: 'request', action: 'order.create', durable: true })
  order(@Body() body: { item?: string; quantity?: number }): { accepted: true; item: string | undefined } {
    return { accepted: true, item: body?.item };
  }
}
