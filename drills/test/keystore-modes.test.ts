// Issue 14 item 9: a key file that is too open never crashes an example at start-up. Every example
// (Nest on both platforms) starts; a too-open key file it does not use changes nothing; a too-open
// signing key (or a keystore directory others can write to) leaves it running but not ready, with
// AUDIT_KEY_UNAVAILABLE naming the file or directory, its mode and the fix; liveness stays 200.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '@ron-audit/core';
import { buildNest, DRILL_JWT_SECRET, EXAMPLES, settledReadiness } from '../lib/examples.mjs';
import { serviceEnv, startService } from '../lib/service.mjs';

interface Example {
  label: string;
  entry?: string;
  nest?: boolean;
  env: Record<string, string>;
}

let nest: { entry: string; remove: () => void };
const work = mkdtempSync(join(tmpdir(), 'ron-keystore-modes-'));
beforeAll(() => {
  nest = buildNest();
});
afterAll(() => {
  nest?.remove();
  rmSync(work, { recursive: true, force: true });
});

/** A keystore with the signing key `used` and another key `unused`, then `tamper` applied. */
async function keystore(dir: string, tamper: (keys: string) => void): Promise<void> {
  const keys = join(dir, 'keys');
  mkdirSync(keys, { recursive: true, mode: 0o700 });
  await generateKey(keys, 'used');
  await generateKey(keys, 'unused');
  tamper(keys);
}

const scenarios: [string, (keys: string) => void, null | RegExp][] = [
  ['an unused key file readable by group (0640)', (keys) => chmodSync(join(keys, 'unused.key'), 0o640), null],
  ['the signing key file readable by group (0640)', (keys) => chmodSync(join(keys, 'used.key'), 0o640), /used\.key is readable by group or others \(mode 640\); chmod 600 it/],
  ['the keystore directory writable by group (0770)', (keys) => chmodSync(keys, 0o770), /keystore directory .*keys is writable by group or others \(mode 770\).*chmod 700 it/],
];

describe.each(Object.entries(EXAMPLES as Record<string, Example>))('too-open key files (issue 14 item 9): %s', (name, ex) => {
  it.each(scenarios)('%s: the service starts; readiness says what is wrong', async (scenario, tamper, reason) => {
    const dir = join(work, `${name}-${scenarios.findIndex((s) => s[0] === scenario)}`);
    await keystore(dir, tamper);
    const svc = await startService({
      dir,
      entry: ex.nest ? nest.entry : ex.entry,
      env: serviceEnv(dir, { ...ex.env, AUDIT_KEY_ID: 'used', AUDIT_ORIGIN: `drill.ron-audit.local/keys/${name}`, JWT_SECRET: DRILL_JWT_SECRET }),
    });
    try {
      const r = await settledReadiness(svc.url);
      expect(svc.alive, svc.output() + svc.errors()).toBe(true);
      expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
      if (reason === null) {
        expect(r.ready, JSON.stringify(r)).toBe(true);
      } else {
        expect(r.status).toBe(503);
        const key = r.reasons.find((x: { code: string }) => x.code === 'AUDIT_KEY_UNAVAILABLE');
        expect(key, JSON.stringify(r.reasons)).toBeDefined();
        expect(key.message).toMatch(reason);
      }
    } finally {
      await svc.stop();
    }
  });
});
