// The example's own settings (everything audit-related is AUDIT_*, read by the engine).
export const DEMO_JWT_SECRET = 'ron-audit-demo-secret-change-me';

export function serverConfig(env = process.env) {
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT=${JSON.stringify(env.PORT)} is invalid: expected an integer from 0 to 65535`);
  return { port, host: env.HOST || '127.0.0.1', jwtSecret: env.JWT_SECRET || DEMO_JWT_SECRET, logLevel: env.LOG_LEVEL };
}
