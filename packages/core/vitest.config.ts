import { defineConfig } from 'vitest/config';

export default defineConfig({
  // globalSetup: the PostgreSQL of the shipper and verifyPg tests (RON_AUDIT_PG_URL, or a local one).
  test: { name: 'core', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], globalSetup: ['test/pg-global-setup.ts'] },
});
