import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from './config.js';
import { METRIC_NAMES } from './metrics.js';
import { generateKey } from './sign/keystore.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('configuration table lists exactly the variables and options the engine reads', () => {
    const rows = readme.split('\n').filter((l) => /^\| `AUDIT_[A-Z_]+` \| `\w+` \|/.test(l));
    const table = rows.map((l) => {
      const [, env, option] = /^\| `(AUDIT_[A-Z_]+)` \| `(\w+)` \|/.exec(l)!;
      return [env, option];
    });
    const code = Object.entries(CONFIG_KEYS).map(([option, spec]) => [spec.env, option]);
    expect(table.sort()).toEqual(code.sort());
  });

  it('names only metrics the code registers', () => {
    // Metric-looking names in backticks, minus the drop reasons (label values, not metrics).
    const reasons = new Set(['audit_backpressure']);
    const named = new Set([...readme.matchAll(/`((?:audit|busy|wal|export)_[a-z_]+)(?:\{[^}]*\})?`/g)].map((m) => m[1]!).filter((n) => !reasons.has(n)));
    for (const name of named) expect(METRIC_NAMES as readonly string[], name).toContain(name.replace(/_(bucket|sum|count)$/, ''));
    for (const name of METRIC_NAMES) expect([...named], `README does not mention ${name}`).toContain(name);
  });

  it('"The engine directly" example runs as written', async () => {
    const block = /### The engine directly\n\n```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const root = mkdtempSync(join(tmpdir(), 'readme-'));
    const keystoreDir = join(root, 'keys');
    await generateKey(keystoreDir, 'aud-2025q4');
    // Run inside the core package so '@ron-audit/core' resolves to this build (package self-reference).
    const file = join(new URL('../test', import.meta.url).pathname, `readme-example-${process.pid}.mjs`);
    writeFileSync(file, `${block}\nexport const result = { id, durable, records };\n`);
    const saved = process.env['AUDIT_KEYSTORE_DIR'];
    process.env['AUDIT_KEYSTORE_DIR'] = keystoreDir;
    try {
      const mod = (await import(pathToFileURL(file).href)) as { result: { id: string; durable: { durable: boolean }; records: { record: Record<string, unknown> }[] } };
      expect(mod.result.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(mod.result.durable.durable).toBe(false); // Micronode: in memory, under a signed checkpoint
      expect(mod.result.records.map((r) => r.record['action'])).toEqual(['user.delete', 'payment.refund']);
    } finally {
      if (saved === undefined) delete process.env['AUDIT_KEYSTORE_DIR'];
      else process.env['AUDIT_KEYSTORE_DIR'] = saved;
      rmSync(file, { force: true });
      rmSync(root, { recursive: true, force: true });
    }
  });
});
