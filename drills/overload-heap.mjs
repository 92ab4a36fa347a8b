#!/usr/bin/env node
// What the heap does under overload (docs/performance.md "Heap under overload"): one Macronode
// engine (WAL + export in a temporary directory), 4 s warm-up at 30,000 emits/s, then 4 s at
// --rate (default 128,000/s, past what one core appends); prints appended/rejected and the heap
// spaces at the sampled peak. For the bytes the collector promotes, run it under --trace-gc-nvp:
//
//   node --trace-gc-nvp drills/overload-heap.mjs > /tmp/gc.log
//   grep -o 'promoted=[0-9]*' /tmp/gc.log | awk -F= '{s+=$2} END {print s/1048576 " MiB promoted"}'
//
// Not a test and not a drill of the runbook: a measurement aid. It removes its directory.
import { getHeapSpaceStatistics } from 'node:v8';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createAudit, generateKey } from '@ron-audit/core';
import { emitAt } from './lib/engine-load.mjs';
const dir = mkdtempSync(join(tmpdir(), 'sp-'));
await generateKey(join(dir, 'keys'), 'k');
const e = createAudit({ keystoreDir: join(dir, 'keys'), keyId: 'k', walEnabled: true, exportEnabled: true, walDir: join(dir, 'wal'), exportDir: join(dir, 'export'), origin: 'x.local/s', env: {} });
await e.ready();
await emitAt(e, { rate: 30000, seconds: 4 });
await e.flush();
const peak = {};
let tot = 0, totPeak = 0, inflightMax = 0;
const rate = Number(process.argv[process.argv.indexOf('--rate') + 1]) || 128000;
const r = await emitAt(e, { rate, seconds: 4, sampleMs: 50, sample: () => {
  let t = 0; const cur = {};
  for (const s of getHeapSpaceStatistics()) { cur[s.space_name] = s.space_used_size; t += s.space_used_size; }
  if (t > totPeak) { totPeak = t; Object.assign(peak, cur); }
}});
await e.flush();
console.log('ok', r.ok, 'rejected', r.rejected, 'peak total', (totPeak/1048576).toFixed(1));
for (const [k, v] of Object.entries(peak)) console.log(k.padEnd(28), (v/1048576).toFixed(1));
await e.close();
rmSync(dir, { recursive: true, force: true });
