import { defineConfig } from 'vitest/config';

export default defineConfig({
  // globalSetup: promtool for the alert tests, fetched into .ci/bin when missing (test/promtool-setup.ts).
  test: { name: 'ops', include: ['test/**/*.test.ts'], testTimeout: 60_000, globalSetup: ['test/promtool-setup.ts'] },
});
