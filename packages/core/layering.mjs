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
      comment: 'record/ (the envelope and its exact bytes) sits below log/ (chain, tree, checkpoints) and everything else but prim/: it must not import from them. Shared primitives live in prim/.',
      from: { path: '^src/record/', ...source },
      to: { path: '^src/', pathNot: '^src/(record/|prim/|errors\\.ts$)' },
    },
    {
      name: 'sign-below-log',
      severity: 'error',
      comment: 'sign/ (keys, signed notes, rotation) uses record/ types and prim/, nothing above: the log signs through it, never the other way.',
      from: { path: '^src/sign/', ...source },
      to: { path: '^src/', pathNot: '^src/(sign/|record/|prim/|errors\\.ts$)' },
    },
    {
      name: 'log-below-storage',
      severity: 'error',
      comment: 'log/ (chain, tree, tiles, checkpoints, appender) knows nothing of sinks, verifiers, queue, lanes, configuration or the engine.',
      from: { path: '^src/log/', ...source },
      to: { path: '^src/', pathNot: '^src/(log/|sign/|record/|prim/|errors\\.ts$)' },
    },
    {
      name: 'verify-without-engine',
      severity: 'error',
      comment: 'The verifiers read bytes anyone wrote; they never load the engine, its factory, queue, lanes, HTTP glue or the CLI.',
      from: { path: '^src/verify/', ...source },
      to: { path: '^src/(engine\\.ts|create-audit\\.ts|index\\.ts|queue/|lanes/|http/|cli/)' },
    },
    {
      name: 'sinks-verify-only-before-destroying',
      severity: 'error',
      comment: 'A sink does not depend on the verifiers, except the two WAL maintenance operations that must verify an export before they prune the WAL behind it (prune.ts) or rebuild a WAL from it (rebuild.ts).',
      from: { path: '^src/sinks/', pathNot: ['\\.test\\.ts$', '^src/sinks/wal/(prune|rebuild)\\.ts$'] },
      to: { path: '^src/verify/' },
    },
    {
      name: 'cli-on-top',
      severity: 'error',
      comment: 'Nothing of the engine imports the operator CLI.',
      from: { path: '^src/', pathNot: ['^src/cli/', '\\.test\\.ts$'] },
      to: { path: '^src/cli/' },
    },
    {
      name: 'entry-points-are-for-users',
      severity: 'error',
      comment: 'index.ts and verify/index.ts are the package surface; engine files import what they need directly, never an entry point.',
      from: { path: '^src/', ...source },
      to: { path: '^src/(verify/)?index\\.ts$' },
    },
    {
      name: 'resolvable',
      severity: 'error',
      comment: 'Every import resolves.',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
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
