import { defineConfig } from 'vitest/config';

// Only the comparison logic of the regression guard is tested here; benchmarks never run under vitest.
export default defineConfig({
  test: { name: 'bench', include: ['**/*.test.mjs'], exclude: ['**/node_modules/**', 'results/**'] },
});
