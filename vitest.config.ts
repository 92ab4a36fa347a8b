import { defineConfig } from 'vitest/config';

// One run over every package; a package with special needs (Nest's decorators) has its own
// vitest.config.ts, picked up as a project.
export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/*', 'bench', 'ops', 'drills'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
