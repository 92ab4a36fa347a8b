import { describe, expect, it } from 'vitest';
import { run as bitrot } from '../bitrot.mjs';
import { run as crash } from '../crash.mjs';
import { run as diskFull } from '../disk-full.mjs';
import { Checks } from '../lib/drill.mjs';
import { SIZES, checkEngine, engineStorm } from '../storm.mjs';

/**
 * The fast drills at CI size (`--quick`), asserting every expectation the full drill checks.
 * The latency drill and the HTTP half of the storm drill need a steady machine to measure a
 * design load, and run with `pnpm drills` instead (docs/drills/).
 */
const failed = (checks: { failed: { name: string; detail: string }[] }) => checks.failed.map((c) => `${c.name}: ${c.detail}`);

// One quick crash drill (every example) for the tests that read it.
let crashRun: ReturnType<typeof crash> | undefined;
const crashQuick = (): ReturnType<typeof crash> => (crashRun ??= crash({ quick: true }));

describe('chaos drills (CI size)', () => {
  it('bitrot: ronctl verify exits 1 naming the range, Micronode counts it, replay from the WAL restores a clean verify', async () => {
    const r = await bitrot({ quick: true });
    expect(failed(r.checks)).toEqual([]);
    expect(r.figures.failure).toMatchObject({ firstSeq: 256, lastSeq: 511 });
    expect(r.figures.serviceCounter).toBe(0);
    expect(r.figures.micro).toMatchObject({ before: 0, after: 1 });
    expect(r.figures.sameBundle).toBe(true);
  });

  it('crash: after kill -9 under load every durable write acknowledged is in the verified log', async () => {
    const r = await crashQuick();
    expect(failed(r.checks)).toEqual([]);
    expect(r.figures.durable).toBeGreaterThan(0);
    expect(r.figures.lostDurable).toBe(0);
  });

  it.each(['fastify', 'express', 'nest-express', 'nest-fastify'])(
    'crash on the %s example: 0 acknowledged POST /orders lost to kill -9; a restart whose recovery refuses is /readyz 503 AUDIT_WAL_CORRUPT, writes 503, nothing appended',
    async (name) => {
      const r = await crashQuick();
      expect(failed(r.checks)).toEqual([]);
      const e = r.figures.examples[name];
      expect(e.durable).toBeGreaterThan(0);
      expect(e.lostDurable).toBe(0);
      expect(e.plain).toBeGreaterThan(0);
      expect(e.refusal.readyz).toMatchObject({ status: 503, ready: false });
      expect(e.refusal.readyz.reasons.map((x: { code: string }) => x.code)).toContain('AUDIT_WAL_CORRUPT');
      expect(e.refusal.writes).toHaveLength(10);
      for (const w of e.refusal.writes) expect(w).toMatchObject({ status: 503, retryAfter: '1', auditId: null });
      expect(e.refusal.appended).toBe(0);
      expect(e.refusal.unchanged).toBe(true);
    },
  );

  it('disk full: export and WAL volumes fill, the host keeps serving degraded, a restart recovers and verifies', async () => {
    const r = await diskFull({ quick: true });
    expect(failed(r.checks)).toEqual([]);
    const bySink = Object.fromEntries(r.figures.map((f: { sink: string }) => [f.sink, f]));
    expect(bySink.export).toMatchObject({ degradedMetric: 1, lost: 0 });
    expect(bySink.wal).toMatchObject({ degradedMetric: 1 });
    // Which mechanism ran here (tmpfs when the test runs as root with mount rights, else the seam).
    expect(['tmpfs', 'loop', 'seam']).toContain(bySink.export.mechanism);
  });

  it('storm, in-process: at 2× design load (doubled while nothing sheds) emitted = appended + dropped exactly, queue and heap bounded', async () => {
    const e = await engineStorm({ size: SIZES.quick, log: () => undefined });
    const checks = new Checks();
    checkEngine(checks, e);
    expect(failed(checks)).toEqual([]);
    expect(e.load.attempts).toBe(e.appended + e.backpressure);
  });
});
