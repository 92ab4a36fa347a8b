import 'reflect-metadata';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Injectable,
  Module,
  Param,
  Post,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
  type INestApplication,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { createAudit, generateKey, type AuditEngine, type CreateAuditOptions, type VerifiedRecord } from '@ron-audit/core';
import { Audit, AUDIT_ENGINE, AuditModule, SkipAudit, type AuditModuleRootOptions } from '../src/index.js';

export type Platform = 'express' | 'fastify';
export const PLATFORMS: readonly Platform[] = ['express', 'fastify'];

export async function keystore(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ron-audit-nest-'));
  await generateKey(dir, 'k');
  return dir;
}

export async function engineOptions(extra: CreateAuditOptions = {}): Promise<CreateAuditOptions> {
  return { keystoreDir: await keystore(), keyId: 'k', origin: 'test.local/nest', env: {}, ...extra };
}

/** Module options with an engine the module creates (and closes) on a fresh keystore. */
export async function moduleOptions(extra: AuditModuleRootOptions = {}): Promise<AuditModuleRootOptions> {
  return { engine: await engineOptions(), ...extra };
}

export async function newEngine(extra: CreateAuditOptions = {}): Promise<AuditEngine> {
  const engine = createAudit(await engineOptions(extra));
  await engine.ready();
  return engine;
}

/** Calls into the handlers, to prove which ran. */
export const calls = { things: 0, orders: 0, admin: 0, slow: 0, inflight: 0 };
let releaseSlow: (() => void)[] = [];
export function resetCalls(): void {
  for (const k of Object.keys(calls) as (keyof typeof calls)[]) calls[k] = 0;
  releaseSlow = [];
}
/** Let every request waiting in GET /slow finish. */
export function releaseSlowRequests(): void {
  for (const r of releaseSlow.splice(0)) r();
}

@Injectable()
export class BearerGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; user?: unknown }>();
    const auth = req.headers['authorization'];
    if (auth === undefined || !auth.startsWith('Bearer ')) throw new UnauthorizedException();
    req.user = { id: auth.slice('Bearer '.length), name: 'Ada', roles: ['ops'] };
    return true;
  }
}

@Injectable()
export class DenyGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

@Controller()
export class TestController {
  @Get('things/:id')
  thing(@Param('id') id: string): { id: string } {
    calls.things++;
    return { id };
  }

  @Post('orders')
  @UseGuards(BearerGuard)
  order(@Body() body: unknown): { ok: true; body: unknown } {
    calls.orders++;
    return { ok: true, body };
  }

  @Get('admin')
  @UseGuards(DenyGuard)
  admin(): string {
    calls.admin++;
    return 'secret';
  }

  @Get('skip')
  @SkipAudit()
  skip(): { skipped: true } {
    return { skipped: true };
  }

  @Post('echo')
  @HttpCode(200)
  @Audit({ level: 'requestResponse', action: 'echo.call' })
  echo(@Body() body: unknown): unknown {
    return body;
  }

  @Post('upload')
  @HttpCode(200)
  @Audit({ level: 'request' })
  upload(@Body() body: unknown): { received: boolean } {
    return { received: body !== undefined };
  }

  @Get('slow')
  async slow(): Promise<{ slow: true }> {
    calls.slow++;
    calls.inflight++;
    await new Promise<void>((resolve) => releaseSlow.push(resolve));
    calls.inflight--;
    return { slow: true };
  }

  @Get('wait/:ms')
  async wait(@Param('ms') ms: string): Promise<{ waited: number }> {
    calls.inflight++;
    await new Promise((r) => setTimeout(r, Number(ms)));
    calls.inflight--;
    return { waited: Number(ms) };
  }

  @Get('stream')
  @Audit({ longLived: true })
  async stream(): Promise<{ streamed: true }> {
    calls.slow++;
    await new Promise<void>((resolve) => releaseSlow.push(resolve));
    return { streamed: true };
  }

  @Get('boom')
  boom(): never {
    throw new Error('kaput');
  }
}

export function rootModule(imports: (DynamicModule | Type)[], controllers: Type[] = [TestController]): Type {
  @Module({ imports, controllers })
  class RootModule {}
  return RootModule;
}

export interface Running {
  readonly app: INestApplication;
  readonly url: string;
  readonly engine: AuditEngine;
}

export function adapterFor(platform: Platform, trustProxy = false): ExpressAdapter | FastifyAdapter {
  if (platform === 'fastify') return new FastifyAdapter({ trustProxy });
  const adapter = new ExpressAdapter();
  if (trustProxy) adapter.set('trust proxy', true);
  return adapter;
}

/** Start a real server on 127.0.0.1 with AuditModule.forRoot(options) and the test controller. */
export interface StartOptions {
  readonly controllers?: Type[];
  readonly imports?: (DynamicModule | Type)[];
  readonly trustProxy?: boolean;
  /** Called before the application initializes (global prefix, versioning…). */
  readonly setup?: (app: INestApplication) => void;
}

export async function start(platform: Platform, options: AuditModuleRootOptions, extra: StartOptions = {}): Promise<Running> {
  return startModule(platform, rootModule([AuditModule.forRoot(options), ...(extra.imports ?? [])], extra.controllers), extra);
}

export async function startModule(platform: Platform, module: Type, extra: StartOptions = {}): Promise<Running> {
  const app = await NestFactory.create(module, adapterFor(platform, extra.trustProxy ?? false), { logger: false, abortOnError: false });
  extra.setup?.(app);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  return { app, url, engine: app.get<AuditEngine>(AUDIT_ENGINE) };
}

export type AuditRecord = Readonly<Record<string, unknown>> & {
  readonly id: string;
  readonly action: string;
  readonly outcome: string;
  readonly actor: { readonly id: string; readonly type: string; readonly name?: string; readonly groups?: readonly string[] };
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly body?: { readonly request?: Readonly<Record<string, unknown>>; readonly response?: Readonly<Record<string, unknown>> };
};

/** Every record, verified on read (chain, tree, signature). */
export async function verified(engine: AuditEngine): Promise<VerifiedRecord[]> {
  await engine.ready();
  await engine.flush();
  return engine.read();
}

export async function records(engine: AuditEngine): Promise<AuditRecord[]> {
  return (await verified(engine)).map((r) => r.record as AuditRecord);
}

export async function recordById(engine: AuditEngine, id: string | null): Promise<AuditRecord | undefined> {
  if (id === null) return undefined;
  return (await records(engine)).find((r) => r.id === id);
}

/** Wait until `check` holds (a request reached its handler, a record was written…). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function metricValue(engine: AuditEngine, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await engine.metrics.registry.getSingleMetric(name)?.get();
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One request on its own connection (Connection: close), so that a closing server is not held open by keep-alive. */
export function once(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: { connection: 'close', ...init.headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}
