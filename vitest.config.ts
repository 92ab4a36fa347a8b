import { defineConfig } from 'vitest/config';

// One run over every package; a package with special needs (Nest's decorators) has its own
// vitest.config.ts, picked up as a project.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*', 'bench', 'ops', 'drills'],
    // In CI (.ci/run) a JSON report as well, from which .ci/summary.mjs prints "N passed, M failed".
    reporters: process.env['CI'] ? ['default', ['json', { outputFile: '.ci/vitest-report.json' }]] : ['default'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
