import { join } from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import { verifyExport } from '@ron-audit/core';
import { nodeFileOps } from '../packages/core/dist/esm/sinks/fs.js';
const syncOps = { ...nodeFileOps, readFile: async (p) => new Uint8Array(readFileSync(p)), readdir: async (p) => readdirSync(p) };
for (const [name, ops] of [['async', undefined], ['sync', syncOps], ['async', undefined], ['sync', syncOps]]) {
  const t = performance.now();
  const r = await verifyExport({ dir: join(process.env.DIR, 'export'), keys: [process.env.VKEY], ops, full: process.env.FULL !== '0' });
  console.log(name, r.ok, r.verified, Math.round(r.verified / ((performance.now() - t) / 1000)), 'rec/s');
}
