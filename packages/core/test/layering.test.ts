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
      ]),
    );
    expect(new Set(found.map((v) => v.rule))).toEqual(new Set(['record-not-log', 'prim-is-the-bottom', 'no-cycle', 'lane-thread-not-laned']));
  }, 60_000);
});
