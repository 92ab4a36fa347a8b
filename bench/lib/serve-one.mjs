// Serve one bench app (bench/lib/<framework>-app.mjs) in one mode in this process until SIGTERM, printing
// its port: for bench/server-cpu.sh, and for `node --cpu-prof bench/lib/serve-one.mjs fastify micronode`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey } from '@ron-audit/core';
const [, , framework, mode] = process.argv;
const dir = mkdtempSync(join(tmpdir(), 'pf-'));
await generateKey(join(dir, 'keys'), 'bench');
const lib = await import(`./${framework}-app.mjs`);
const build = Object.values(lib).find((f) => typeof f === 'function' && f.name.startsWith('build'));
const app = await build(mode, dir);
if (app.engine) await app.engine.ready();
console.log(app.port);
process.on('SIGTERM', async () => { await app.close(); process.exit(0); });
