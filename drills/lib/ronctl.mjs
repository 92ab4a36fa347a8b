// ronctl as an operator runs it: the package's bin, a child process, its exit code and output.
import { spawn } from 'node:child_process';
import { ronctlPath } from './paths.mjs';

export const RONCTL_TIMEOUT_MS = 60_000;

/** Run `ronctl ...args`; resolves { code, stdout, stderr, command } (code 124 on timeout). */
export function ronctl(args) {
  return new Promise((resolve) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUDIT_')));
    const child = spawn(process.execPath, [ronctlPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d.toString()));
    child.stderr.on('data', (d) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RONCTL_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ? 124 : code, stdout, stderr, command: `ronctl ${args.map(shellQuote).join(' ')}` });
    });
  });
}

function shellQuote(a) {
  return /^[A-Za-z0-9_./:=+@-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`;
}
