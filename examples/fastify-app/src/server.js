// ron-audit + Fastify example: a small service whose every request leaves a signed audit record.
//
//   pnpm --dir examples/fastify-app start        (PORT=3000, HOST=127.0.0.1 by default)
//   curl -i localhost:3000/products               public read, audited (Audit-Id header)
//   TOKEN=$(node examples/fastify-app/src/token.js alice)
//   curl -i -X POST -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
//        -d '{"sku":"A-1","qty":2}' localhost:3000/orders     authenticated write; actor = alice
//
// JWT_SECRET signs and checks the demo bearer tokens (HS256; default DEMO_JWT_SECRET, change it).
// Every AUDIT_* variable is honoured (the engine reads them). If the signing key AUDIT_KEY_ID is
// not in AUDIT_KEYSTORE_DIR, this example generates it at startup — the library itself never does.
// RON_AUDIT_DRILL_FSYNC_DELAY_MS and RON_AUDIT_DRILL_FAULT_FILE are for the chaos drills only
// (drills/; documented in src/drill-faults.js): never set them in production.
import { DEFAULT_KEY_ID, DEFAULT_KEYSTORE_DIR, generateKey, keyFileExists, logsOf, reloadFromFile, resolveConfig } from '@ron-audit/core';
import { audit } from '@ron-audit/fastify';
import Fastify from 'fastify';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { drillFileOps } from './drill-faults.js';
import { verifyJwt } from './jwt.js';
import { serverConfig } from './server-config.js';

const config = serverConfig();
// The example runs the Macronode profile (WAL + export under ./.audit/) unless told otherwise.
process.env.AUDIT_WAL_ENABLED ??= 'true';
process.env.AUDIT_EXPORT_ENABLED ??= 'true';

async function ensureKey() {
  const { keyId = DEFAULT_KEY_ID, keystoreDir = DEFAULT_KEYSTORE_DIR } = resolveConfig({}, process.env);
  // Only whether its file is there: a key that is there but unusable (too open, malformed) is the
  // engine's to judge, and it starts not ready with the reason (/readyz 503) rather than exiting.
  if (await keyFileExists(keystoreDir, keyId)) return;
  await generateKey(keystoreDir, keyId);
  console.log(`generated audit signing key "${keyId}" in ${keystoreDir} (example only; provision keys in production)`);
}

export async function build() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const app = Fastify({ logger: config.logLevel ? { level: config.logLevel } : false, trustProxy: process.env.TRUST_PROXY === 'true' });

  // Drill only (drills/, docs/runbook.md §9): RON_AUDIT_DRILL_* put the WAL and export behind the
  // fault seam. Unset in normal runs: the engine then writes through node:fs directly.
  const fileOps = drillFileOps(process.env, (fault) => console.log(`DRILL fault seam: ${fault}`));
  if (fileOps) console.log('DRILL fault seam active (RON_AUDIT_DRILL_*): not for production');
  await app.register(audit, {
    registry,
    metrics: true,
    ...(fileOps ? { engine: { fileOps } } : {}),
    rules: [{ method: 'POST', route: '/orders', level: 'request', action: 'order.create' }],
  });

  app.decorateRequest('user', null);
  const authenticate = async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const claims = header.startsWith('Bearer ') ? verifyJwt(header.slice(7), config.jwtSecret) : undefined;
    if (claims === undefined || typeof claims.sub !== 'string') {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ statusCode: 401, error: 'Unauthorized', message: 'a valid bearer token is required' });
    }
    request.user = claims; // defaultActor reads sub, name and roles
  };

  // Liveness must not depend on the audit trail (a not-ready audit answers every audited route 503).
  app.get('/healthz', { config: { audit: false } }, async () => ({ status: 'ok' }));
  // The plugin joins this route: while the audit trail is not ready it answers 503 with the reason.
  // Ready, it still says whether a sink runs degraded (amnesia after a disk fault; runbook §4).
  app.get('/readyz', { config: { audit: false } }, async () => {
    const h = app.audit.health();
    return { ready: true, status: h.status, reasons: h.reasons }; // the plugin's own shape (docs/adapters/fastify.md)
  });
  app.get('/products', async () => [{ sku: 'A-1', name: 'Anvil' }, { sku: 'B-2', name: 'Bucket' }]);
  // An order is answered only once its audit record is durable (fsynced in the WAL): after a
  // crash, every order a client saw a 201 for is in the log (drills/crash.mjs proves it).
  app.post('/orders', { onRequest: authenticate, config: { audit: { durable: true } } }, async (request, reply) => {
    const { sku, qty } = request.body ?? {};
    return reply.code(201).send({ id: `ord-${Date.now().toString(36)}`, sku, qty, by: request.user.sub });
  });
  app.get('/internal/ping', { config: { audit: false } }, async () => 'pong');
  return app;
}

async function main() {
  await ensureKey();
  const app = await build();
  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    try {
      await app.close(); // waits for in-flight requests, then drains the audit queue
      const engine = app.audit.engine;
      // One log, or one per lane with AUDIT_WORKERS > 0.
      for (const log of logsOf(engine)) {
        console.log(`audit closed on ${signal}: final checkpoint size=${log.checkpoint()?.size ?? 0} origin=${log.origin}`);
        // AUDIT_ENABLED=false: no key was loaded, nothing was signed.
        console.log(`verifier key: ${!engine.config.enabled ? '(none: auditing disabled)' : log.verifierKey()}`);
      }
      process.exit(0);
    } catch (err) {
      console.error('shutdown failed:', err);
      process.exit(1);
    }
  };
  // Runbook §6.5: SIGHUP re-reads AUDIT_CONFIG_FILE (TOML or env file) and applies the safe knobs live.
  process.on('SIGHUP', () => {
    reloadFromFile(app.audit.engine, process.env.AUDIT_CONFIG_FILE).then(
      ({ changed }) => console.log(`audit config reloaded (${changed.join(', ') || 'no change'})`),
      (err) => console.error(`audit config reload refused: ${err.message}`),
    );
  });
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  const address = await app.listen({ port: config.port, host: config.host });
  console.log(`fastify-app listening on ${address} (audit ${app.audit.health().ready ? 'ready' : 'NOT ready'})`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
