/**
 * The engine's layering (STYLE.md "Data flows one way"), as dependency-cruiser rules. Checked by
 * test/layering.test.ts, so it runs in `pnpm test` and in CI; `npx depcruise --config
 * layering.mjs src` prints the same report. Test files may cross layers (they wire real parts
 * together), so the direction rules apply to sources only; a cycle is refused everywhere.
 */
const source = { pathNot: '\\.test\\.ts$' };

export default {
  forbidden: [
    {
      name: 'record-not-log',
      severity: 'error',
      comment: 'record/ (the envelope and its exact bytes) sits below log/ (chain, tree, checkpoints): it must not import from it. Shared primitives live in prim/.',
      from: { path: '^src/record/', ...source },
      to: { path: '^src/log/' },
    },
    {
      name: 'prim-is-the-bottom',
      severity: 'error',
      comment: 'prim/ (hashes, hex, time syntax) is below every other layer: it imports only itself and errors.ts.',
      from: { path: '^src/prim/', ...source },
      to: { path: '^src/', pathNot: '^src/(prim/|errors\\.ts$)' },
    },
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'No import cycle among the engine files, type-only imports included.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'lane-thread-not-laned',
      severity: 'error',
      comment: 'A lane thread runs the in-thread engine; it must not load the laned engine (or the factory that picks it).',
      from: { path: '^src/lanes/worker\\.ts$' },
      to: { path: '^src/(lanes/laned|create-audit)\\.ts$', reachable: true },
    },
  ],
  options: {
    // Type-only imports count: a type cycle is a cycle for a reader.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
  },
};
