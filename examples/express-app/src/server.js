// ron-audit with Express 5: a small service whose every request leaves a tamper-evident record.
//
//   pnpm --dir examples/express-app start      (PORT=3000, HOST=127.0.0.1 by default)
//
// Every AUDIT_* variable applies (createAudit reads them). JWT_SECRET signs the bearer tokens
// (default: the demo secret; mint one with `node src/token.js alice`).
import { randomUUID } from 'node:crypto';
import express from 'express';
import { generateKey, keyFileExists, logsOf, reloadFromFile, resolveConfig } from '@ron-audit/core';
import { audit } from '@ron-audit/express';
import { DEMO_JWT_SECRET, verifyHs256 } from './jwt.js';

// The example runs the Macronode profile (WAL + export under ./.audit/) unless told otherwise.
process.env.AUDIT_WAL_ENABLED ??= 'true';
process.env.AUDIT_EXPORT_ENABLED ??= 'true';

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST || '127.0.0.1';
const JWT_SECRET = process.env.JWT_SECRET || DEMO_JWT_SECRET;

/** Engine faults and the ready line go to stderr, logfmt-like. */
const logger = {
  info: (_obj, msg) => console.error(`level=INFO ${msg ?? ''}`),
  warn: (_obj, msg) => console.error(`level=WARN ${msg ?? ''}`),
  error: (_obj, msg) => console.error(`level=ERROR ${msg ?? ''}`),
};

/** A bad AUDIT_* value is an AuditError naming it: say so in one line and exit 1. */
function fail(err) {
  console.error(`express-app: ${err?.code ?? 'error'}: ${err?.message ?? String(err)}`);
  process.exit(1);
}

// The example runs out of the box: it creates its signing key when the keystore lacks it. The
// library never does this; in production the key is provisioned (ronctl, a KMS) and kept.
let auditor;
try {
  const { keystoreDir, keyId } = resolveConfig({}, process.env);
  // Only whether its file is there: a key that is there but unusable (too open, malformed) is the
  // engine's to judge, and it starts not ready with the reason (/readyz 503) rather than exiting.
  if (!(await keyFileExists(keystoreDir, keyId))) {
    await generateKey(keystoreDir, keyId);
    console.log(`generated signing key "${keyId}" in ${keystoreDir} (example only: provision keys in production)`);
  }
  auditor = audit({
    engine: { logger },
    // Probes and scrapes are neither audited nor ever refused.
    skip: (req) => req.path === '/healthz' || req.path === '/metrics',
    // GET /readyz: 503 while audit is not ready or shutting down.
    readiness: true,
    rules: [{ method: 'POST', route: '/orders', level: 'request', action: 'order.create' }],
  });
} catch (err) {
  fail(err);
}

/** Bearer HS256 tokens; the claims become req.user, which the default actor reads (sub, name, roles). */
function requireUser(req, res, next) {
  const m = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
  const claims = m ? verifyHs256(m[1], JWT_SECRET) : undefined;
  if (claims === undefined || typeof claims.sub !== 'string') {
    res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthorized' });
    return;
  }
  req.user = claims;
  next();
}

const app = express();
app.use(auditor);
app.use(express.json({ limit: '64kb' }));

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
app.get('/metrics', auditor.metricsHandler());

app.get('/hello', (req, res) => {
  res.json({ hello: typeof req.query.name === 'string' ? req.query.name : 'world' });
});

// Durable: the 201 is sent only once the order's record is fsynced in the WAL, so an order a
// client saw accepted is in the log after a crash (drills/crash.mjs). The reads above are not held:
// a crash may lose the records of the last few milliseconds of reads, never an acknowledged order.
app.post('/orders', auditor.route({ durable: true }), requireUser, (req, res) => {
  const order = { id: randomUUID(), sku: req.body?.sku, qty: req.body?.qty ?? 1, by: req.user.sub };
  req.audit.setTarget({ type: 'order', id: order.id });
  res.status(201).json(order);
});

// Opted out: no record, no Audit-Id.
app.get('/internal/stats', auditor.route(false), (_req, res) => {
  res.json({ uptimeSeconds: Math.round(process.uptime()) });
});

app.use(auditor.errorHandler());

const server = app.listen(PORT, HOST, () => {
  const { port } = server.address();
  console.log(`express-app listening on http://${HOST}:${port}`);
});

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  // Stop accepting, let in-flight requests finish, and drain the audit trail meanwhile
  // (auditor.close() waits for every admitted request's record, then the final checkpoint).
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeIdleConnections();
  await auditor.close();
  server.closeIdleConnections();
  await closed;
  // One log, or one per lane with AUDIT_WORKERS > 0.
  for (const log of logsOf(auditor.engine)) {
    let vkey = '(no key loaded)';
    try {
      vkey = log.verifierKey();
    } catch {
      /* the engine never became ready: nothing was signed */
    }
    console.log(`audit: final checkpoint size=${log.checkpoint()?.size ?? 0} verifier key=${vkey}`);
  }
  process.exit(0);
}
// Runbook §6.5: SIGHUP re-reads AUDIT_CONFIG_FILE (TOML or env file) and applies the safe knobs live.
process.on('SIGHUP', () => {
  reloadFromFile(auditor.engine, process.env.AUDIT_CONFIG_FILE).then(
    ({ changed }) => console.log(`audit config reloaded (${changed.join(', ') || 'no change'})`),
    (err) => console.error(`audit config reload refused: ${err.message}`),
  );
});
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
