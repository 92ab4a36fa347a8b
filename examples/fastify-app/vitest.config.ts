import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'example-fastify-app', include: ['test/**/*.test.ts'], testTimeout: 30_000 },
});
