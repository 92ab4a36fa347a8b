import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The worker locators are CommonJS-only (lanes/here.cts, verify/here.cts); from sources, use the built workers.
  resolve: { alias: [{ find: /^\.\/here\.cjs$/, replacement: fileURLToPath(new URL('./test/lane-here.ts', import.meta.url)) }] },
  // globalSetup: the PostgreSQL of the shipper and verifyPg tests (RON_AUDIT_PG_URL, or a local one).
  test: { name: 'core', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], globalSetup: ['test/pg-global-setup.ts'] },
});
