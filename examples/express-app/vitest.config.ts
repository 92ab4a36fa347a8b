import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'example-express-app', include: ['test/**/*.test.ts'] },
});
