import { fileURLToPath } from 'node:url';

/**
 * Tests run the engine from its TypeScript sources, where `lanes/here.cts` and `verify/here.cts`
 * (CommonJS-only syntax) cannot be transformed; vitest.config.ts aliases both to this module,
 * which points the engine at the built lane worker and the export verifier at its built bundle
 * worker, the sibling dist/esm/verify/export-worker.js (the test command builds before it tests).
 */
const HERE: string = fileURLToPath(new URL('../dist/esm/lanes/here.cjs', import.meta.url));
export default HERE;
