import { Controller, Get, Inject, Injectable, Module, Version, VersioningType, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuditError, type AuditEngine } from '@ron-audit/core';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Audit, AUDIT_ENGINE, AuditModule, AuditRuntime, SkipAudit, type AuditModuleOptions } from '../src/index.js';
import { adapterFor, moduleOptions, newEngine, PLATFORMS, records, rootModule, startModule, TestController, type Running } from './harness.js';

function expectAuditError(fn: () => unknown, code: string, names: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${code} naming ${names}`).toBeInstanceOf(AuditError);
  expect((thrown as AuditError).code).toBe(code);
  expect((thrown as AuditError).message).toContain(names);
}

describe('AuditModule.forRoot refuses wrong options at registration', () => {
  const bad: [string, Record<string, unknown>, string, string][] = [
    ['level unknown', { level: 'verbose' }, 'AUDIT_CONFIG_INVALID', 'level'],
    ['level not a string', { level: 3 }, 'AUDIT_CONFIG_INVALID', 'level'],
    ['level null', { level: null }, 'AUDIT_CONFIG_INVALID', 'level'],
    ['rules not an array', { rules: 'none' }, 'AUDIT_INVALID_ARGUMENT', 'rules'],
    ['rules with a bad level', { rules: [{ path: '/x', level: 'loud' }] }, 'AUDIT_INVALID_ARGUMENT', 'rules[0].level'],
    ['rules with a bad route', { rules: [{ route: 5, level: 'none' }] }, 'AUDIT_INVALID_ARGUMENT', 'rules[0].route'],
    ['rules with a null entry', { rules: [null] }, 'AUDIT_INVALID_ARGUMENT', 'rules[0]'],
    ['retryAfter zero', { retryAfter: 0 }, 'AUDIT_CONFIG_INVALID', 'retryAfter'],
    ['retryAfter fractional', { retryAfter: 1.5 }, 'AUDIT_CONFIG_INVALID', 'retryAfter'],
    ['retryAfter a string', { retryAfter: '2' }, 'AUDIT_CONFIG_INVALID', 'retryAfter'],
    ['retryAfter NaN', { retryAfter: Number.NaN }, 'AUDIT_CONFIG_INVALID', 'retryAfter'],
    ['retryAfter huge', { retryAfter: 1e9 }, 'AUDIT_CONFIG_INVALID', 'retryAfter'],
    ['maxBodyBytes negative', { maxBodyBytes: -1 }, 'AUDIT_CONFIG_INVALID', 'maxBodyBytes'],
    ['maxBodyBytes fractional', { maxBodyBytes: 10.5 }, 'AUDIT_CONFIG_INVALID', 'maxBodyBytes'],
    ['maxBodyBytes a string', { maxBodyBytes: '1024' }, 'AUDIT_CONFIG_INVALID', 'maxBodyBytes'],
    ['maxBodyBytes above a record', { maxBodyBytes: 1 << 20 }, 'AUDIT_CONFIG_INVALID', 'maxBodyBytes'],
    ['maxBodyBytes Infinity', { maxBodyBytes: Number.POSITIVE_INFINITY }, 'AUDIT_CONFIG_INVALID', 'maxBodyBytes'],
    ['maxBodyBytes null', { maxBodyBytes: null }, 'AUDIT_CONFIG_INVALID', 'maxBodyBytes'],
    ['skipOnError not a boolean', { skipOnError: 'yes' }, 'AUDIT_CONFIG_INVALID', 'skipOnError'],
    ['skipOnError null', { skipOnError: null }, 'AUDIT_CONFIG_INVALID', 'skipOnError'],
    ['rules null', { rules: null }, 'AUDIT_INVALID_ARGUMENT', 'rules'],
    ['readiness null', { readiness: null }, 'AUDIT_CONFIG_INVALID', 'readiness'],
    ['actor not a function', { actor: 'user' }, 'AUDIT_CONFIG_INVALID', 'actor'],
    ['readiness without a slash', { readiness: 'readyz' }, 'AUDIT_CONFIG_INVALID', 'readiness'],
    ['readiness a number', { readiness: 1 }, 'AUDIT_CONFIG_INVALID', 'readiness'],
    ['metrics without a slash', { metrics: 'metrics' }, 'AUDIT_CONFIG_INVALID', 'metrics'],
    ['metrics on the readiness path', { metrics: '/readyz' }, 'AUDIT_CONFIG_INVALID', 'metrics'],
    ['an option misspelt', { skipOnErrors: true }, 'AUDIT_CONFIG_INVALID', 'skipOnErrors'],
    ['an engine option at the top level', { queueDepth: 10 }, 'AUDIT_CONFIG_INVALID', 'queueDepth'],
    ['an engine option misspelt', { engine: { env: {}, queueDepht: 10 } }, 'AUDIT_CONFIG_INVALID', 'queueDepht'],
    ['an engine option out of range', { engine: { env: {}, queueDepth: 0 } }, 'AUDIT_CONFIG_INVALID', 'queueDepth'],
    ['an AUDIT_* variable out of range', { engine: { env: { AUDIT_QUEUE_DEPTH: 'lots' } } }, 'AUDIT_CONFIG_INVALID', 'AUDIT_QUEUE_DEPTH'],
    ['engine not an object', { engine: 'fast' }, 'AUDIT_CONFIG_INVALID', 'engine'],
    ['engine null', { engine: null }, 'AUDIT_CONFIG_INVALID', 'engine'],
    ['registry inside engine', { engine: { env: {}, registry: {} } }, 'AUDIT_CONFIG_INVALID', 'engine.registry'],
    ['registry not a registry', { registry: {} }, 'AUDIT_CONFIG_INVALID', 'registry'],
    ['audit not an engine', { audit: {} }, 'AUDIT_CONFIG_INVALID', 'audit'],
    ['durable not a boolean', { durable: 'yes' }, 'AUDIT_CONFIG_INVALID', 'durable'],
    ['durable null', { durable: null }, 'AUDIT_CONFIG_INVALID', 'durable'],
    ['durableFailOpen not a boolean', { durableFailOpen: 1 }, 'AUDIT_CONFIG_INVALID', 'durableFailOpen'],
  ];
  it('refuses a value that is not an options object', () => {
    expectAuditError(() => AuditModule.forRoot(null as unknown as AuditModuleOptions), 'AUDIT_CONFIG_INVALID', 'options');
  });

  it.each(bad)('%s', (_name, options, code, names) => {
    expectAuditError(() => AuditModule.forRoot({ engine: { env: {} }, ...options } as AuditModuleOptions), code, names);
  });

  it('refuses engine options or another registry next to an existing engine', async () => {
    const engine = await newEngine();
    expectAuditError(() => AuditModule.forRoot({ audit: engine, engine: { queueDepth: 5 } }), 'AUDIT_CONFIG_INVALID', 'engine');
    expectAuditError(() => AuditModule.forRoot({ audit: engine, registry: new Registry() }), 'AUDIT_CONFIG_INVALID', 'registry');
    expect(() => AuditModule.forRoot({ audit: engine, registry: engine.metrics.registry })).not.toThrow();
    await engine.close();
  });

  it('refuses a bad @Audit() where the decorator is applied', () => {
    expectAuditError(() => Audit({ level: 'loud' as 'none' }), 'AUDIT_INVALID_ARGUMENT', '@Audit(config).level');
    expectAuditError(() => Audit({ action: '' }), 'AUDIT_INVALID_ARGUMENT', '@Audit(config).action');
    expectAuditError(() => Audit({ lvl: 'none' } as never), 'AUDIT_INVALID_ARGUMENT', '@Audit(config).lvl');
    expectAuditError(() => Audit({ durable: 'yes' } as never), 'AUDIT_INVALID_ARGUMENT', '@Audit(config).durable');
  });

  it('refuses bad options given through forRootAsync when Nest builds the application', async () => {
    const module = rootModule([AuditModule.forRootAsync({ useFactory: () => ({ engine: { env: {} }, retryAfter: -3 }) })]);
    await expect(NestFactory.create(module, adapterFor('express'), { logger: false, abortOnError: false })).rejects.toThrow(/retryAfter/);
  });
});

@Injectable()
class ConfigService {
  readonly options: Promise<AuditModuleOptions> = moduleOptions({ level: 'request' });
}

@Module({ providers: [ConfigService], exports: [ConfigService] })
class ConfigModule {}

@Injectable()
class UsesEngine {
  constructor(@Inject(AUDIT_ENGINE) readonly engine: AuditEngine) {}
}

@Module({ providers: [UsesEngine], exports: [UsesEngine] })
class FeatureModule {}

@Controller('probe')
@SkipAudit()
class SkippedController {
  @Get()
  probe(): string {
    return 'ok';
  }

  @Get('audited')
  @Audit({ action: 'probe.audited' })
  audited(): string {
    return 'audited';
  }
}

@Controller('versioned')
class VersionedController {
  @Get()
  @Version('1')
  @Audit({ action: 'versioned.v1' })
  v1(): string {
    return 'one';
  }

  @Get()
  @Version('2')
  v2(): string {
    return 'two';
  }
}

/** A host module whose own middleware answers some requests itself (a rate limiter, say). */
function limitedModule(options: AuditModuleOptions): DynamicModule {
  @Module({})
  class LimitedModule implements NestModule {
    configure(consumer: MiddlewareConsumer): void {
      consumer
        .apply((_req: unknown, res: { statusCode: number; end(body: string): void }) => {
          res.statusCode = 429;
          res.end('slow down');
        })
        .forRoutes('things/666');
    }
  }
  return { module: LimitedModule, imports: [AuditModule.forRoot(options)], controllers: [TestController] };
}

describe.each(PLATFORMS)('module wiring on platform-%s', (platform) => {
  let run: Running | undefined;
  afterEach(async () => {
    await run?.app.close();
    run = undefined;
  });

  it('builds from forRootAsync with imports and inject, and shares the engine with isGlobal', async () => {
    const audit: DynamicModule = AuditModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => config.options,
      isGlobal: true,
    });
    run = await startModule(platform, rootModule([audit, FeatureModule]));
    expect(run.app.get(UsesEngine).engine).toBe(run.engine);
    const res = await fetch(`${run.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    const [r] = await records(run.engine);
    expect(r?.id).toBe(res.headers.get('audit-id'));
    // the level set by the factory applies to routes without their own (echo has requestResponse)
    const thing = await fetch(`${run.url}/things/1`, { headers: { 'x-custom': 'v' } });
    const all = await records(run.engine);
    expect(all.find((x) => x.id === thing.headers.get('audit-id'))?.attributes['http.request.header.x-custom']).toEqual(['v']);
  });

  it('applies @SkipAudit on a controller to its handlers, unless a handler has its own @Audit', async () => {
    run = await startModule(platform, rootModule([AuditModule.forRoot(await moduleOptions())], [SkippedController]));
    const skipped = await fetch(`${run.url}/probe`);
    expect(skipped.headers.get('audit-id')).toBeNull();
    const audited = await fetch(`${run.url}/probe/audited`);
    expect(audited.headers.get('audit-id')).not.toBeNull();
    expect((await records(run.engine)).map((r) => r.action)).toEqual(['probe.audited']);
  });

  it('applies rules in order, first match wins, with decorators winning over rules', async () => {
    const options = { ...(await moduleOptions()), rules: [{ route: '/things/:id', level: 'none' as const }, { path: /^\/things/, level: 'requestResponse' as const }, { method: 'POST', level: 'request' as const }] };
    run = await startModule(platform, rootModule([AuditModule.forRoot(options)]));
    expect((await fetch(`${run.url}/things/1`)).headers.get('audit-id')).toBeNull();
    const echo = await fetch(`${run.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"b":2}' });
    const upload = await fetch(`${run.url}/upload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"c":3}' });
    const all = await records(run.engine);
    expect(all.find((r) => r.id === echo.headers.get('audit-id'))?.body?.response).toBeDefined();
    expect(all.find((r) => r.id === upload.headers.get('audit-id'))?.body).toMatchObject({ request: { content: { c: 3 } } });
    expect(all).toHaveLength(2);
  });

  it('opts unmatched paths out by a path rule: no record, no Audit-Id', async () => {
    run = await startModule(platform, rootModule([AuditModule.forRoot({ ...(await moduleOptions()), rules: [{ path: /^\/favicon/, level: 'none' }] })]));
    const res = await fetch(`${run.url}/favicon.ico`);
    expect(res.status).toBe(404);
    expect(res.headers.get('audit-id')).toBeNull();
    expect(await records(run.engine)).toHaveLength(0);
  });

  it('uses the actor hook when given, reading the request after guards', async () => {
    run = await startModule(platform, rootModule([AuditModule.forRoot({ ...(await moduleOptions()), actor: (req) => ({ id: String(req.headers['x-tenant'] ?? 'none'), type: 'tenant' }) })]));
    const res = await fetch(`${run.url}/things/1`, { headers: { 'x-tenant': 't-9' } });
    expect((await records(run.engine))[0]?.actor).toEqual({ id: 't-9', type: 'tenant' });
    expect(res.status).toBe(200);
  });

  it('records the full template under a global prefix, and keeps header versioning working', async () => {
    run = await startModule(platform, rootModule([AuditModule.forRoot(await moduleOptions())], [TestController, VersionedController]), {
      setup: (app) => {
        app.setGlobalPrefix('api');
        app.enableVersioning({ type: VersioningType.HEADER, header: 'x-api-version' });
      },
    });
    const thing = await fetch(`${run.url}/api/things/7`);
    expect(thing.status).toBe(200);
    const v1 = await fetch(`${run.url}/api/versioned`, { headers: { 'x-api-version': '1' } });
    const v2 = await fetch(`${run.url}/api/versioned`, { headers: { 'x-api-version': '2' } });
    expect(await v1.text()).toBe('one');
    expect(await v2.text()).toBe('two');
    const all = await records(run.engine);
    expect(all.find((r) => r.id === thing.headers.get('audit-id'))?.attributes['http.route']).toBe('/api/things/:id');
    expect(all.find((r) => r.id === v1.headers.get('audit-id'))?.action).toBe('versioned.v1');
    expect(all.find((r) => r.id === v2.headers.get('audit-id'))?.action).toBe('GET /api/versioned');
    expect(all).toHaveLength(3);
  });

  it("records a request the host's own module middleware answers", async () => {
    const limited = limitedModule(await moduleOptions());
    run = await startModule(platform, rootModule([limited], []));
    const res = await fetch(`${run.url}/things/666`);
    expect(res.status).toBe(429);
    const r = (await records(run.engine))[0];
    expect(r?.id).toBe(res.headers.get('audit-id'));
    expect(r?.attributes['http.response.status_code']).toBe(429);
  });

  it('refuses a second AuditModule in the same application', async () => {
    const twice = rootModule([AuditModule.forRoot(await moduleOptions()), rootModule([AuditModule.forRoot(await moduleOptions())], [])], [TestController]);
    await expect(NestFactory.create(twice, adapterFor(platform), { logger: false, abortOnError: false }).then((app) => app.init())).rejects.toThrow(/more than once/);
  });
});

describe('dependency injection without emitted type metadata', () => {
  it('does not rely on design:paramtypes (hosts built with esbuild or tsx work)', () => {
    expect(Reflect.getMetadata('design:paramtypes', AuditRuntime)).toBeUndefined();
    expect(Reflect.getMetadata('design:paramtypes', AuditModule)).toBeUndefined();
  });
});
