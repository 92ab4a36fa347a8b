import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'example-nest-app', include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
});
