import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';
import layering from '../layering.mjs';

// The layering lint (layering.mjs) as a test, so `pnpm test` — what CI runs — fails on a violation.

async function violations(baseDir: string): Promise<{ rule: string; from: string; to: string }[]> {
  const { output } = await cruise(['src'], { ruleSet: { forbidden: layering.forbidden }, ...layering.options, validate: true, baseDir });
  return (output as ICruiseResult).summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
}

describe('layering lint', () => {
  it('the core sources have no violation', async () => {
    expect(await violations(fileURLToPath(new URL('..', import.meta.url)))).toEqual([]);
  }, 60_000);

  it('reports each rule on a fixture that breaks it', async () => {
    const found = await violations(fileURLToPath(new URL('./fixtures/layering', import.meta.url)));
    expect(found).toEqual(
      expect.arrayContaining([
        { rule: 'record-not-log', from: 'src/record/envelope.ts', to: 'src/log/chain.ts' },
        { rule: 'prim-is-the-bottom', from: 'src/prim/hex.ts', to: 'src/log/chain.ts' },
        expect.objectContaining({ rule: 'no-cycle', from: 'src/engine.ts', to: 'src/front.ts' }),
        expect.objectContaining({ rule: 'lane-thread-not-laned', from: 'src/lanes/worker.ts', to: 'src/lanes/laned.ts' }),
        { rule: 'sign-below-log', from: 'src/sign/note.ts', to: 'src/log/chain.ts' },
        { rule: 'log-below-storage', from: 'src/log/tree.ts', to: 'src/sinks/wal/writer.ts' },
        { rule: 'verify-without-engine', from: 'src/verify/export.ts', to: 'src/create-audit.ts' },
        { rule: 'sinks-verify-only-before-destroying', from: 'src/sinks/wal/writer.ts', to: 'src/verify/export.ts' },
        { rule: 'cli-on-top', from: 'src/queue/admission.ts', to: 'src/cli/ronctl.ts' },
        { rule: 'entry-points-are-for-users', from: 'src/queue/drain.ts', to: 'src/index.ts' },
        { rule: 'resolvable', from: 'src/log/typo.ts', to: './no-such-file.js' },
      ]),
    );
    expect(new Set(found.map((v) => v.rule))).toEqual(new Set(layering.forbidden.map((r) => r.name)));
    // The two WAL maintenance operations may verify before they destroy; no other sink may.
    expect(found.filter((v) => v.from === 'src/sinks/wal/prune.ts')).toEqual([]);
  }, 60_000);
});
