// The regression guard's comparison logic, on fixture results: no benchmark runs here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareResults, formatComparison } from './compare-lib.mjs';

const fixture = (name) => JSON.parse(readFileSync(new URL(`./fixtures/compare/${name}.json`, import.meta.url), 'utf8'));
const doc = (ratios) => ({ results: [{ bench: 'b', ratios }] });

describe('compareResults', () => {
  it('passes a run whose ratios are within 10 % or better, whatever its absolute rates', () => {
    const { ok, rows } = compareResults(fixture('baseline'), fixture('latest-ok'));
    expect(ok).toBe(true);
    const by = Object.fromEntries(rows.map((r) => [`${r.bench} ${r.figure}`, r.status]));
    expect(by).toEqual({
      'core-append audit/json': 'ok', // 0.285 vs 0.30: −5 %, although records/s fell from 50k to 20k
      'wal-commit wal/raw@1': 'better',
      'wal-commit wal/raw@32': 'ok',
      'http-fastify micronode/plain': 'ok',
      'http-fastify macronode/plain': 'ok',
      'wal-commit wal/raw@128': 'new',
    });
  });

  it('flags a ratio more than 10 % worse even when the absolute rate improved', () => {
    const { ok, rows } = compareResults(fixture('baseline'), fixture('latest-regressed'));
    expect(ok).toBe(false);
    const core = rows.find((r) => r.bench === 'core-append');
    expect(core).toMatchObject({ status: 'worse', baseline: 0.3, latest: 0.255 });
    expect(core.change).toBeCloseTo(-0.15, 10);
  });

  it('flags the figures of a bench that failed or stopped reporting one as missing', () => {
    const { rows } = compareResults(fixture('baseline'), fixture('latest-regressed'));
    const missing = rows.filter((r) => r.status === 'missing').map((r) => `${r.bench} ${r.figure}`);
    expect(missing).toEqual(['wal-commit wal/raw@1', 'wal-commit wal/raw@32', 'http-fastify macronode/plain']);
  });

  it('treats exactly the tolerance as still acceptable and just past it as worse', () => {
    expect(compareResults(doc({ r: 1 }), doc({ r: 0.9 })).ok).toBe(true);
    expect(compareResults(doc({ r: 1 }), doc({ r: 0.8999 })).ok).toBe(false);
    expect(compareResults(doc({ r: 1 }), doc({ r: 0.8999 }), { tolerance: 0.2 }).ok).toBe(true);
  });

  it('counts a non-finite fresh figure (NaN, null) as missing, and ignores a non-finite baseline figure', () => {
    expect(compareResults(doc({ r: 1 }), doc({ r: null })).rows[0].status).toBe('missing');
    expect(compareResults(doc({ r: null }), doc({ r: 0.5 })).ok).toBe(true);
  });

  it('refuses documents that are not bench results and tolerances outside 0..1', () => {
    expect(() => compareResults({}, fixture('latest-ok'))).toThrow(/baseline is not a bench results document/);
    expect(() => compareResults(fixture('baseline'), { results: [{}] })).toThrow(/latest has a result without a bench name/);
    expect(() => compareResults(doc({}), doc({}), { tolerance: 1 })).toThrow(/tolerance 1 is invalid/);
    expect(() => compareResults(doc({}), doc({}), { tolerance: Number.NaN })).toThrow(/tolerance NaN is invalid/);
  });
});

describe('formatComparison', () => {
  it('marks failing rows and ends with the verdict', () => {
    const text = formatComparison(compareResults(fixture('baseline'), fixture('latest-regressed')));
    expect(text).toMatch(/^FAIL core-append audit\/json\s+0\.300 →\s+0\.255\s+-15\.0%\s+worse$/m);
    expect(text.split('\n').at(-1)).toBe('REGRESSION: 4 figure(s) more than 10% worse than the baseline, or missing');
    expect(formatComparison(compareResults(fixture('baseline'), fixture('latest-ok'))).split('\n').at(-1)).toBe('OK: no ratio more than 10% worse than the baseline (6 figures)');
  });
});
