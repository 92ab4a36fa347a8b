// A host that gives the engine no logger (Express has none; Fastify's is off by default) must
// still learn why every request gets 503: the engine says it once on stderr at start, with the
// command that fixes it. Real child processes, real stderr, the built package.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, tempDir } from '../test/support/engine.js';
import { KEY_RETRY_MS } from './engine.js';
import { main } from './cli/ronctl.js';

afterAll(cleanup);

const DIST = fileURLToPath(new URL('../dist/esm/index.js', import.meta.url));

/** Start an engine in a child process with a missing key, past one key retry, and close it. */
async function child(keystoreDir: string, withLogger: boolean, workers = 0): Promise<{ stdout: string; stderr: string }> {
  const script = `
const { createAudit } = await import(${JSON.stringify(DIST)});
const logger = { info: () => {}, warn: (o, m) => console.log('host-logger warn: ' + m), error: (o, m) => console.log('host-logger error: ' + m) };
const audit = createAudit({ env: {}, keystoreDir: ${JSON.stringify(keystoreDir)}, keyId: 'svc-key', origin: 'notice.test/1'${withLogger ? ', logger' : ''}${workers ? `, workers: ${workers}` : ''} });
await audit.ready().catch(() => {});
await new Promise((r) => setTimeout(r, ${KEY_RETRY_MS + 500}));
await audit.close();
`;
  // A script file, not `-e`: lane worker threads inherit execArgv, and `--input-type` is refused there.
  const file = join(await tempDir(), 'host.mjs');
  await writeFile(file, script);
  return promisify(execFile)(process.execPath, [file], { encoding: 'utf8' });
}

describe.concurrent('a not-ready engine says why', () => {
  it('once on stderr when the host gave no logger, naming the command that fixes it; run as printed, the key exists', async () => {
    const keystoreDir = join(await tempDir(), 'keys');
    const { stderr } = await child(keystoreDir, false);
    const lines = stderr.split('\n').filter((l) => l.length > 0);
    expect(lines, stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^ron-audit: audit\.ready=0 reason=AUDIT_KEY_UNAVAILABLE: .*create one with: npx ronctl kms keygen --key-alias svc-key --keystore-dir /);
    const cmd = /npx ronctl (kms keygen [^)]+)\)/.exec(lines[0]!)![1]!.split(' ');
    let out = '';
    expect(await main(cmd, { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true }, env: {}, cwd: '/' })).toBe(0);
    expect(out).toContain('created key svc-key');
  }, 30_000);

  it('with worker lanes too: once on stderr, naming the lane and the command that fixes it', async () => {
    const keystoreDir = join(await tempDir(), 'keys');
    const { stderr } = await child(keystoreDir, false, 1);
    const lines = stderr.split('\n').filter((l) => l.length > 0);
    expect(lines, stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^ron-audit: audit\.ready=0 reason=AUDIT_KEY_UNAVAILABLE: lane 0: .*npx ronctl kms keygen --key-alias svc-key --keystore-dir /);
  }, 30_000);

  it('on the host logger, and not on stderr, when one is given', async () => {
    const keystoreDir = join(await tempDir(), 'keys');
    const { stdout, stderr } = await child(keystoreDir, true);
    expect(stderr).toBe('');
    expect(stdout.trim().split('\n')).toEqual([expect.stringMatching(/^host-logger warn: audit\.ready=0 reason=AUDIT_KEY_UNAVAILABLE: .*npx ronctl kms keygen --key-alias svc-key/)]);
  }, 30_000);
});
