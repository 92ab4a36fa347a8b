import { join } from 'node:path';
import { verifyExport } from '@ron-audit/core';
import { setHashBackend } from '../packages/core/dist/esm/log/hash.js';
import { createFastBackend } from '../packages/core/dist/esm/log/hash-fast.js';
import { setEd25519Backend } from '../packages/core/dist/esm/sign/ed25519.js';
import { nativeEd25519 } from '../packages/core/dist/esm/sign/ed25519-native.js';
if (process.env.FAST !== '0') { setHashBackend(await createFastBackend()); setEd25519Backend(nativeEd25519); }
for (let i = 0; i < Number(process.env.RUNS ?? 1); i++) {
const t = performance.now();
const r = await verifyExport({ dir: join(process.env.DIR, 'export'), keys: [process.env.VKEY], full: process.env.FULL !== '0' });
console.log(r.ok, r.verified, Math.round(r.verified / ((performance.now() - t) / 1000)), 'rec/s');
}
