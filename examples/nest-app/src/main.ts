import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { AppModule } from './app.module.js';
import { reloadFromFile, type AuditEngine } from '@ron-audit/core';
import { AUDIT_ENGINE } from '@ron-audit/nest';
import { ensureSigningKey } from './keys.js';

// The example runs the Macronode profile (WAL + export under ./.audit/) unless told otherwise.
process.env['AUDIT_WAL_ENABLED'] ??= 'true';
process.env['AUDIT_EXPORT_ENABLED'] ??= 'true';

const port = Number(process.env['PORT'] ?? 3000);
const host = process.env['HOST'] ?? '127.0.0.1';
const platform = process.env['NEST_PLATFORM'] ?? 'express';
if (platform !== 'express' && platform !== 'fastify') throw new Error(`NEST_PLATFORM must be express or fastify, not ${platform}`);

await ensureSigningKey();
const registry = new Registry();
collectDefaultMetrics({ register: registry });

const app = await NestFactory.create(AppModule.register(registry), platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), {
  logger: ['error', 'warn'],
});
// SIGTERM/SIGINT → app.close(): the server stops, in-flight requests finish and are recorded, the
// audit queue drains; then exit 0.
app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
// Runbook §6.5: SIGHUP re-reads AUDIT_CONFIG_FILE (TOML or env file) and applies the safe knobs live.
const engine = app.get<AuditEngine>(AUDIT_ENGINE);
process.on('SIGHUP', () => {
  reloadFromFile(engine, process.env['AUDIT_CONFIG_FILE']).then(
    ({ changed }) => console.log(`audit config reloaded (${changed.join(', ') || 'no change'})`),
    (err: Error) => console.error(`audit config reload refused: ${err.message}`),
  );
});
await app.listen(port, host);
// The bound port, not the configured one: PORT=0 (tests, drills) picks a free port.
const bound = (app.getHttpServer() as { address(): { port: number } | string | null }).address();
console.log(`nest-app (${platform}) listening on http://${host.includes(':') ? `[${host}]` : host}:${typeof bound === 'object' && bound !== null ? bound.port : port}`);
