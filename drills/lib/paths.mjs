// Where things are, and a scratch directory per drill (removed when the drill ends).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const examplePath = join(repoRoot, 'examples/fastify-app');
export const ronctlPath = join(repoRoot, 'packages/core/bin/ronctl.cjs');
export const reportDir = join(repoRoot, 'docs/drills');

export function scratch(name) {
  const dir = mkdtempSync(join(tmpdir(), `ron-audit-drill-${name}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
