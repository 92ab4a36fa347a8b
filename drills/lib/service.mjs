// An example service as a drill drives it: a child process on a free loopback port, Macronode
// with its WAL, export and keystore in the drill's directory, stopped with SIGTERM (clean: drains
// and signs) or SIGKILL (a crash). The Fastify example unless `entry` names another
// (lib/examples.mjs).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { examplePath } from './paths.mjs';

export const START_TIMEOUT_MS = 20_000;
export const STOP_TIMEOUT_MS = 20_000;

/** Environment of a Macronode service whose state lives under `dir`. */
export function serviceEnv(dir, extra = {}) {
  return {
    AUDIT_WAL_ENABLED: 'true',
    AUDIT_EXPORT_ENABLED: 'true',
    AUDIT_WAL_DIR: join(dir, 'wal'),
    AUDIT_EXPORT_DIR: join(dir, 'export'),
    AUDIT_KEYSTORE_DIR: join(dir, 'keys'),
    AUDIT_ORIGIN: 'drill.ron-audit.local/fastify-app',
    ...extra,
  };
}

/**
 * Start the example. Resolves once it listens (or rejects with its output if it exits or does
 * not listen in time). `env` is added to a copy of this process's environment without AUDIT_*.
 */
export async function startService({ dir, env = {}, port = 0, entry = join(examplePath, 'src/server.js') }) {
  mkdirSync(dir, { recursive: true });
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUDIT_') && !k.startsWith('RON_AUDIT_DRILL_')));
  const child = spawn(process.execPath, [entry], {
    cwd: dir,
    env: { ...base, HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  child.stderr.on('data', (d) => (err += d.toString()));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + START_TIMEOUT_MS;
  let url;
  for (;;) {
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (m) {
      url = m[1];
      break;
    }
    if (done || Date.now() > deadline) {
      if (!done) child.kill('SIGKILL');
      throw new Error(`example service did not start (${done ? 'exited' : 'timeout'}):\n${out}\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url,
    pid: child.pid,
    child,
    exited,
    get alive() {
      return !done;
    },
    output: () => out,
    errors: () => err,
    /** SIGTERM and wait: the service drains, signs the final checkpoint and prints its verifier key. */
    async stop() {
      if (done) return { ...(await exited), verifierKey: verifierKeyOf(out) };
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      const r = await exited;
      clearTimeout(timer);
      return { ...r, verifierKey: verifierKeyOf(out) };
    },
    /** kill -9: no drain, no final checkpoint. */
    async crash() {
      child.kill('SIGKILL');
      return exited;
    },
  };
}

/** The verifier key a service printed on shutdown ("verifier key: …", or the Express example's "verifier key=…"). */
export function verifierKeyOf(output) {
  return /verifier key[:=] ?(\S+)/.exec(output)?.[1];
}

/** GET a path and return { status, body } (body parsed as JSON when it is JSON). */
export async function get(url, path) {
  const res = await fetch(url + path);
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body };
}
