import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Nest's dependency injection reads emitDecoratorMetadata, which esbuild does not emit; swc does.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: { name: 'nest', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] },
});
