import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule, type HealthCheckResult } from '@nestjs/terminus';
import { createAudit, type AuditEngine } from '@ron-audit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditHealthIndicator, SkipAudit } from '../src/index.js';
import { newEngine, PLATFORMS, start, type Running } from './harness.js';

@Controller('health')
class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(AuditHealthIndicator) private readonly audit: AuditHealthIndicator,
  ) {}

  @Get()
  @SkipAudit()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.audit.isHealthy('audit')]);
  }
}

describe.each(PLATFORMS)('AuditHealthIndicator with @nestjs/terminus on platform-%s', (platform) => {
  let run: Running | undefined;
  let engine: AuditEngine | undefined;
  afterEach(async () => {
    await run?.app.close();
    await engine?.close();
    run = engine = undefined;
  });

  it('reports audit up in a terminus health check while the engine is ready', async () => {
    engine = await newEngine();
    run = await start(platform, { audit: engine }, { controllers: [HealthController], imports: [TerminusModule] });
    const res = await fetch(`${run.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', info: { audit: { status: 'up', audit: 'ready' } } });
  });

  it('reports audit down with the reason (503) while the key is missing', async () => {
    engine = createAudit({ keystoreDir: await mkdtemp(join(tmpdir(), 'ron-audit-nokey-')), keyId: 'k', origin: 'test.local/nokey', env: {} });
    await expect(engine.ready()).rejects.toThrow();
    run = await start(platform, { audit: engine }, { controllers: [HealthController], imports: [TerminusModule] });
    const res = await fetch(`${run.url}/health`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { status: string; error: { audit: { status: string; reasons: { code: string }[] } } };
    expect(body.status).toBe('error');
    expect(body.error.audit.status).toBe('down');
    expect(body.error.audit.reasons.map((r) => r.code)).toContain('AUDIT_KEY_UNAVAILABLE');
  });
});
