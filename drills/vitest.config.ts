import { defineConfig } from 'vitest/config';

// The CI-sized drills: real services on loopback, real disks, real crashes. One file at a time,
// so that the drills do not load each other; each is bounded well under its timeout.
export default defineConfig({
  test: { name: 'drills', include: ['test/**/*.test.ts'], testTimeout: 150_000, hookTimeout: 30_000, fileParallelism: false },
});
