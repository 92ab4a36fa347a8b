#!/usr/bin/env node
// Drill 4 (runbook §9.4, §4 "audit_verify_fail_total > 0", §6.2): bitrot.
//
// A finished run of the example service leaves an export and a WAL. The drill flips one bit in
// one record of one exported entry bundle and shows, precisely, who notices: `ronctl audit
// verify` exits 1 naming the bundle's seq range and the record; the service itself never reads its
// export back, so its audit_verify_fail_total stays 0 (the page alert cannot see export bitrot —
// run the verifier on a schedule). Where the engine does read — Micronode verify-on-read — the
// same kind of damage raises audit_verify_fail_total and logs `verify_fail seq=… reason=…`.
// Recovery (§6.2): rebuild the export from the intact WAL with `ronctl audit replay` into a fresh
// directory, verify it, swap it in.
import { copyFileSync, cpSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAudit, generateKey } from '@ron-audit/core';
import { Checks, checksTable, cli, isMain, machine, num } from './lib/drill.mjs';
import { drain, drive } from './lib/load.mjs';
import { scratch } from './lib/paths.mjs';
import { scrape } from './lib/prom.mjs';
import { ronctl } from './lib/ronctl.mjs';
import { serviceEnv, startService } from './lib/service.mjs';

export const meta = { name: 'bitrot', title: 'one bit flipped in one exported entry bundle', maxSeconds: 180 };

const SIZES = { full: { requests: 3000, rate: 1000, micronode: 2000 }, quick: { requests: 1200, rate: 800, micronode: 300 } };
export const BUNDLE = 'tile/entries/001'; // records 256–511: a full bundle in the middle of the log

/** Offsets of the records inside an entry bundle (each is a big-endian uint16 length + bytes). */
function recordSpans(bundle) {
  const spans = [];
  for (let off = 0; off + 2 <= bundle.length; ) {
    const len = (bundle[off] << 8) | bundle[off + 1];
    spans.push({ start: off + 2, end: off + 2 + len });
    off += 2 + len;
  }
  return spans;
}

/** Flip the low bit of one letter inside record `index` of the bundle (a single-bit rot). */
function flipOneBit(path, index) {
  const bytes = new Uint8Array(readFileSync(path));
  const span = recordSpans(bytes)[index];
  const text = Buffer.from(bytes.subarray(span.start, span.end)).toString('latin1');
  const at = span.start + text.indexOf('"outcome":"') + '"outcome":"'.length + 2; // a letter inside the outcome value
  const before = String.fromCharCode(bytes[at]);
  bytes[at] ^= 0x01;
  writeFileSync(path, bytes);
  return { offset: at, before, after: String.fromCharCode(bytes[at]) };
}

/** Micronode: verify-on-read is where the engine reads, so that is where audit_verify_fail_total rises. */
async function micronode(dir, n) {
  const keystoreDir = join(dir, 'micro-keys');
  await generateKey(keystoreDir, 'micro');
  const errors = [];
  const logger = { info: () => undefined, warn: () => undefined, error: (_o, msg) => errors.push(msg) };
  const engine = createAudit({ keystoreDir, keyId: 'micro', origin: 'drill.ron-audit.local/micronode', logger, env: {} });
  const registry = engine.metrics.registry;
  await engine.ready();
  for (let i = 0; i < n; i++) engine.emit({ action: 'drill.bitrot', outcome: 'success', actor: { id: `u-${i}` } });
  await engine.flush();
  const count = async () => (await registry.getSingleMetric('audit_verify_fail_total').get()).values[0]?.value ?? 0;
  const clean = (await engine.read({ from: 0 })).length;
  const before = await count();
  // There is no public way to damage a running log's memory (read() and snapshot() hand out
  // copies), so the drill reaches into the log's private record run (get() is a live view of
  // the held bytes), as a bad DIMM or a debugger would: one bit of one held record.
  const seq = Math.floor(n / 2);
  const held = engine.log.records.get(seq - engine.log.firstRetained);
  const at = Buffer.from(held).toString('latin1').indexOf('"outcome":"') + '"outcome":"'.length + 2;
  held[at] ^= 0x01;
  const err = await engine.read({ from: 0 }).then(
    () => undefined,
    (e) => e,
  );
  const after = await count();
  const isolatedBefore = (await engine.read({ from: 0, to: seq - 1 })).length;
  const isolatedAfter = await engine.read({ from: seq + 1 }).then(
    (r) => r.length,
    (e) => e.code,
  );
  await engine.close();
  return { n, clean, seq, before, after, err: err && { code: err.code, reason: err.reason, seq: err.seq }, logged: errors.find((m) => m.startsWith('verify_fail')), isolatedBefore, isolatedAfter };
}

export async function run({ quick = false, log = () => undefined } = {}) {
  const size = quick ? SIZES.quick : SIZES.full;
  const checks = new Checks();
  const work = scratch('bitrot');
  const startedAt = new Date().toISOString();
  const exportDir = join(work.dir, 'export');
  const walDir = join(work.dir, 'wal');
  try {
    // 1. A finished run.
    const svc = await startService({ dir: work.dir, env: serviceEnv(work.dir) });
    const load = await drive(svc.url, { rate: size.rate, seconds: size.requests / size.rate });
    await drain(svc.url);
    const stop = await svc.stop();
    const vkey = stop.verifierKey;
    const finalSize = Number(/final checkpoint size=(\d+)/.exec(svc.output())?.[1]);
    log(`finished run: ${num(load.ok)} requests audited, final checkpoint size ${finalSize}`);
    const clean = await ronctl(['audit', 'verify', '--export-dir', exportDir, '--key', vkey]);

    // 2. Bitrot: one bit of one record of one full bundle.
    const bundlePath = join(exportDir, BUNDLE);
    const pristine = readFileSync(bundlePath);
    const recordIndex = 100;
    const rotSeq = 256 + recordIndex;
    const flip = flipOneBit(bundlePath, recordIndex);
    log(`flipped one bit in ${BUNDLE} at byte ${flip.offset} ('${flip.before}' → '${flip.after}'), record seq ${rotSeq}`);
    const t0 = performance.now();
    const bad = await ronctl(['audit', 'verify', '--export-dir', exportDir, '--key', vkey]);
    const badMs = performance.now() - t0;
    const badJson = await ronctl(['audit', 'verify', '--export-dir', exportDir, '--key', vkey, '--json']);
    const failure = JSON.parse(badJson.stdout || '{}').failure ?? {};

    // 3. Who else notices? The service over the damaged export (on a copy, so the evidence stays).
    const copy = join(work.dir, 'copy');
    for (const d of ['wal', 'export', 'keys']) cpSync(join(work.dir, d), join(copy, d), { recursive: true });
    const svc2 = await startService({ dir: copy, env: serviceEnv(copy) });
    await drive(svc2.url, { rate: 500, seconds: 1 });
    const s2 = await drain(svc2.url);
    const serviceCounter = s2.sum('audit_verify_fail_total');
    const readyRes = await fetch(`${svc2.url}/readyz`);
    const serviceReady = readyRes.status;
    const serviceReasons = ((await readyRes.json()).reasons ?? []).map((x) => `${x.code}: ${x.message}`);
    await svc2.stop();

    // 4. Micronode verify-on-read.
    const micro = await micronode(work.dir, size.micronode);

    // 5. Recovery: replay the intact WAL into a fresh export, verify, swap.
    const restored = join(work.dir, 'export.restored');
    const t1 = performance.now();
    const replay = await ronctl(['audit', 'replay', '--wal-dir', walDir, '--export-dir', restored]);
    const replayMs = performance.now() - t1;
    const reverify = await ronctl(['audit', 'verify', '--export-dir', restored, '--wal-dir', walDir, '--key', vkey]);
    const sameBundle = Buffer.compare(readFileSync(join(restored, BUNDLE)), pristine) === 0;
    renameSync(exportDir, join(work.dir, 'export.damaged'));
    renameSync(restored, exportDir);
    const swapped = await ronctl(['audit', 'verify', '--export-dir', exportDir, '--key', vkey]);
    copyFileSync(join(work.dir, 'export.damaged', BUNDLE), join(work.dir, 'evidence.bundle')); // kept for the incident, in a real one

    const rangeLine = bad.stdout.split('\n').find((l) => l.includes('range:'));
    checks.check('the finished run verifies before the damage', clean.code === 0, `exit ${clean.code}: ${clean.stdout.split('\n')[0]}`);
    checks.check(
      '`ronctl audit verify` exits 1 naming the damaged range and record',
      // The chain check can only see a changed record through the next record's link, so the
      // record named is the damaged one or the one after it; the range is the bundle's.
      bad.code === 1 && failure.firstSeq === 256 && failure.lastSeq === 511 && (failure.seq === rotSeq || (failure.seq === rotSeq + 1 && failure.message.includes(String(rotSeq)))),
      `exit ${bad.code}; ${bad.stdout.split('\n')[0]} ${rangeLine?.trim() ?? ''}; record seq ${failure.seq}`,
    );
    checks.check('the service never reads its export back: its audit_verify_fail_total stays 0', serviceCounter === 0 && serviceReady === 200, `restarted over the damaged export: /readyz ${serviceReady}${serviceReasons.length ? ` (${serviceReasons.join('; ')})` : ''}, audit_verify_fail_total ${serviceCounter}`);
    checks.check(
      'Micronode verify-on-read: audit_verify_fail_total rises, the read fails, it is logged',
      micro.before === 0 && micro.after === 1 && micro.err?.code === 'AUDIT_VERIFY_FAILED' && micro.err.seq === micro.seq && micro.logged?.startsWith(`verify_fail seq=${micro.seq}`),
      `counter ${micro.before} → ${micro.after}; read() → ${micro.err?.code} (${micro.err?.reason}, seq ${micro.err?.seq}); log "${micro.logged}"`,
    );
    checks.check(
      'the range is isolated: a read that ends before the bad record still verifies',
      micro.isolatedBefore === micro.seq,
      `read [0, ${micro.seq - 1}] → ${micro.isolatedBefore} records verified; read [${micro.seq + 1}, …] → ${micro.isolatedAfter} (its first link covers the damaged record)`,
    );
    checks.check('`ronctl audit replay` rebuilds the export from the intact WAL', replay.code === 0 && sameBundle, `exit ${replay.code}: ${replay.stdout.split('\n')[0]}; rebuilt bundle byte-identical to the pre-damage one: ${sameBundle}`);
    checks.check('the rebuilt export verifies (and agrees with the WAL)', reverify.code === 0 && swapped.code === 0, `exit ${reverify.code}: ${reverify.stdout.split('\n')[0]}`);

    const shell = (r) => `$ ${r.command.replace(/--key \S+/, '--key "$VKEY"').replace(new RegExp(work.dir, 'g'), '$DRILL')}\n${r.stdout.trim()}\n(exit ${r.code})`;
    const markdown = `# Drill: bitrot

Runbook §9.4 ("corrupt a single exported chunk → \`audit_verify_fail_total\` > 0, range isolated, recovery run"), §4
"\`audit_verify_fail_total > 0\`", §6.2. Generated by \`node drills/bitrot.mjs\` (\`pnpm drill:bitrot\`) on ${startedAt}; ${machine()}.

**Set-up.** The Fastify example (Macronode: WAL + export) audits ${num(load.ok)} requests and stops cleanly (final
checkpoint size ${num(finalSize)}). The drill then flips **one bit** of record seq ${rotSeq} inside the entry bundle
\`${BUNDLE}\` (records 256–511): byte ${flip.offset} of the file, '${flip.before}' → '${flip.after}' in the record's \`outcome\`.

## Who notices, and where

| where | reads the damaged bytes? | what rises / answers |
| --- | --- | --- |
| \`ronctl audit verify\` (the verifier, offline) | yes: every bundle, chain, tree, tiles | **exit 1**, \`FAIL: ${failure.reason}\`, range seq ${failure.firstSeq}–${failure.lastSeq}, record seq ${failure.seq} (${badMs.toFixed(0)} ms for ${num(finalSize)} records) |
| the service (Macronode) restarted over the damaged export | no: it reads the export's \`checkpoint\` only, never the bundles | \`audit_verify_fail_total\` stays **${serviceCounter}**; ready |
| a Micronode engine, one held record damaged in memory | yes: \`read()\` verifies chain, leaves, root and signature | \`audit_verify_fail_total\` **${micro.before} → ${micro.after}**, \`read()\` rejects with \`${micro.err?.code}\` (\`${micro.err?.reason}\`, seq ${micro.err?.seq}), log line \`${micro.logged}\` |

The verifier names the bundle's range and the first record whose check fails${failure.seq === rotSeq + 1 ? ` — here seq ${failure.seq}, the record *after*
the damaged one, because a changed record is seen through the next record's \`prev\` link ("prev does not match the
hash of record ${rotSeq}"). Isolate the named record and the one before it` : ''}.

So the page alert \`sum(audit_verify_fail_total) > 0\` fires for damage the engine reads (Micronode verify-on-read),
**not** for damage at rest in an export: that is found by running \`ronctl audit verify\` on a schedule and
paging on its exit status 1 (docs/runbook.md). The Micronode record was damaged through the log's private
record array (no public API can change held bytes: \`read()\` and \`snapshot()\` hand out copies).

\`\`\`
${shell(bad)}
\`\`\`

## Recovery (runbook §6.2), as run

1. Isolate: the verifier named the range (seq ${failure.firstSeq}–${failure.lastSeq}, bundle \`${BUNDLE}\`); keep the damaged file as evidence.
2. Rebuild the export from the intact WAL into a fresh directory (replay into the damaged directory would
   start after its checkpoint and leave the bad bundle in place), in ${replayMs.toFixed(0)} ms:

\`\`\`
${shell(replay)}
\`\`\`

3. Verify the rebuilt set, against the WAL too, then swap it in (\`mv export export.damaged; mv export.restored export\`):

\`\`\`
${shell(reverify)}
\`\`\`

The rebuilt \`${BUNDLE}\` is byte-identical to the file before the damage: ${sameBundle}.

## Expectations

${checksTable(checks)}
`;
    // The scratch directory is gone after the drill: show it as $DRILL in the report.
    return { checks, markdown: markdown.split(work.dir).join('$DRILL'), pictures: {}, figures: { finalSize, flip, rotSeq, failure, serviceCounter, micro, replayMs, badMs, sameBundle } };
  } finally {
    work.remove();
  }
}

if (isMain(import.meta.url)) await cli(meta, run);
