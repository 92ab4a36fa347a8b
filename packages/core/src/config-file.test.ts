import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../test/helpers.js';
import { loadConfigFile, optionsOf, parseEnvFile } from './config-file.js';

describe('config files (ronctl config check, SIGHUP reload)', () => {
  const dir = tempDir();
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('reads the runbook TOML with AUDIT_* keys and an [audit] table, ignoring the host tables', async () => {
    const p = file('svc.toml', 'AUDIT_QUEUE_DEPTH = 8192\nAUDIT_WAL_ENABLED = true\n[audit]\nkey_id = "aud-2025q4"\ncheckpointEvery = 500\n[server]\nport = 9909\n');
    const loaded = await loadConfigFile(p);
    expect(loaded.config).toMatchObject({ queueDepth: 8192, walEnabled: true, keyId: 'aud-2025q4', checkpointEvery: 500 });
    expect(optionsOf(loaded)).toMatchObject({ queueDepth: 8192, walEnabled: true, keyId: 'aud-2025q4', checkpointEvery: 500 });
  });

  it('reads an env file with comments, export and quotes', async () => {
    expect(parseEnvFile('# c\nexport AUDIT_KEY_ID="k1"\nAUDIT_QUEUE_DEPTH=10\n\n')).toEqual({ AUDIT_KEY_ID: 'k1', AUDIT_QUEUE_DEPTH: '10' });
    const loaded = await loadConfigFile(file('audit.env', 'AUDIT_QUEUE_DEPTH=10\n'));
    expect(loaded.config.queueDepth).toBe(10);
  });

  it('refuses, naming file, variable, value and what is allowed', async () => {
    await expect(loadConfigFile(file('bad.env', 'AUDIT_QUEUE_DEPTH=lots\n'))).rejects.toMatchObject({ code: 'AUDIT_CONFIG_INVALID', message: expect.stringMatching(/bad\.env.*AUDIT_QUEUE_DEPTH="lots".*integer/) });
    await expect(loadConfigFile(file('typo.toml', 'AUDIT_QUEUE_DEPHT = 1\n'))).rejects.toMatchObject({ message: expect.stringMatching(/AUDIT_QUEUE_DEPHT is not a known variable/) });
    await expect(loadConfigFile(file('typo2.toml', '[audit]\nqueue_dept = 1\n'))).rejects.toMatchObject({ message: expect.stringMatching(/queue_dept is not a known option/) });
    await expect(loadConfigFile(file('broken.toml', 'AUDIT_QUEUE_DEPTH = = 1\n'))).rejects.toMatchObject({ message: expect.stringMatching(/not valid TOML/) });
    await expect(loadConfigFile(file('line.env', 'NOT A LINE\n'))).rejects.toMatchObject({ message: expect.stringMatching(/line 1/) });
    await expect(loadConfigFile(join(dir, 'missing.toml'))).rejects.toMatchObject({ code: 'AUDIT_CONFIG_INVALID', details: { io: true } });
  });
});

describe('config files: values that are not scalars', () => {
  it('refuses a TOML array or table where a variable expects a value', async () => {
    const dir = tempDir();
    const p = join(dir, 'arr.toml');
    writeFileSync(p, 'AUDIT_QUEUE_DEPTH = [1]\n');
    await expect(loadConfigFile(p)).rejects.toMatchObject({ code: 'AUDIT_CONFIG_INVALID', message: expect.stringMatching(/AUDIT_QUEUE_DEPTH must be a string, number or boolean, not an array/) });
  });
});
