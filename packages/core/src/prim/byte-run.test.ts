import { describe, expect, it } from 'vitest';
import { AuditError } from '../errors.js';
import { prng } from '../../test/support/prng.js';
import { ByteRun } from './byte-run.js';

function bytes(seed: number, n: number): Uint8Array {
  const r = prng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return err instanceof AuditError ? err.code : `not an AuditError: ${String(err)}`;
  }
  return undefined;
}

describe('ByteRun', () => {
  it('holds what was pushed, in order, as copies', () => {
    const run = new ByteRun(64);
    const a = bytes(1, 10);
    run.push(a);
    run.push(new Uint8Array(0));
    run.push(bytes(2, 100)); // larger than a chunk: a chunk of its own
    a[0] = a[0]! ^ 1;
    expect(run.length).toBe(3);
    expect(run.get(0)).toEqual(bytes(1, 10));
    expect(run.get(1)).toEqual(new Uint8Array(0));
    expect(run.get(2)).toEqual(bytes(2, 100));
    expect(run.lengthOf(2)).toBe(100);
    expect(run.views(0, 3).map((v) => v.length)).toEqual([10, 0, 100]);
  });

  it('agrees with a plain array over 20,000 seeded pushes, drops and reserved writes', () => {
    const r = prng(0x5eed);
    const run = new ByteRun(256);
    const model: Uint8Array[] = [];
    for (let step = 0; step < 20_000; step++) {
      const x = r();
      if (x < 0.1 && model.length > 0) {
        const n = Math.floor(r() * (model.length + 2));
        run.dropFront(n);
        model.splice(0, n);
      } else if (x < 0.5) {
        // A writer that keeps a prefix byte of its own before the entry (the leaf input's 0x00).
        const b = bytes(step, Math.floor(r() * 300));
        const chunk = run.reserve(b.length + 1);
        const at = run.writeOffset;
        chunk[at] = 0;
        chunk.set(b, at + 1);
        run.commit(at + 1, b.length);
        model.push(b);
      } else {
        const b = bytes(step, Math.floor(r() * 40));
        run.push(b);
        model.push(b);
      }
      expect(run.length).toBe(model.length);
      if (model.length > 0 && step % 7 === 0) {
        const i = Math.floor(r() * model.length);
        expect(run.get(i)).toEqual(model[i]);
      }
    }
    expect(run.views(0, run.length)).toEqual(model);
  });

  it('releases a chunk once none of its entries is held, and keeps views valid', () => {
    const run = new ByteRun(1024);
    for (let i = 0; i < 100; i++) run.push(bytes(i, 100)); // ~10 chunks
    const held = run.chunkBytesHeld;
    expect(held).toBeGreaterThanOrEqual(100 * 100);
    const view = run.get(0);
    run.dropFront(95);
    expect(run.chunkBytesHeld).toBeLessThanOrEqual(2 * 1024);
    expect(view).toEqual(bytes(0, 100)); // a view outlives the drop
    expect(run.get(0)).toEqual(bytes(95, 100));
    run.dropFront(10);
    expect(run.length).toBe(0);
    expect(run.chunkBytesHeld).toBeLessThanOrEqual(1024);
    run.push(bytes(7, 5));
    expect(run.get(0)).toEqual(bytes(7, 5));
    run.clear();
    expect(run.length).toBe(0);
    expect(run.chunkBytesHeld).toBe(0);
  });

  it('does not keep an unused chunk when a larger entry needs a new one', () => {
    const run = new ByteRun(64);
    run.reserve(10); // a chunk, no entry committed
    run.push(bytes(3, 500));
    expect(run.chunkBytesHeld).toBe(500);
    expect(run.get(0)).toEqual(bytes(3, 500));
  });

  it('refuses wrong input with AUDIT_INVALID_ARGUMENT and stays usable', () => {
    for (const bad of [0, 63, 1.5, -1, 2 ** 31, Number.NaN, '1024' as unknown as number]) expect(code(() => new ByteRun(bad))).toBe('AUDIT_INVALID_ARGUMENT');
    const run = new ByteRun(64);
    expect(code(() => run.commit(0, 1))).toBe('AUDIT_INVALID_ARGUMENT'); // nothing reserved
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 31]) expect(code(() => run.reserve(bad))).toBe('AUDIT_INVALID_ARGUMENT');
    run.push(bytes(1, 8));
    run.reserve(8);
    for (const [off, len] of [
      [0, 1], // before writeOffset: would overwrite the entry just committed
      [8, -1],
      [8, 57], // past the chunk's end
      [8.5, 1],
    ] as const)
      expect(code(() => run.commit(off, len))).toBe('AUDIT_INVALID_ARGUMENT');
    for (const bad of [null, 'ab', [1, 2], new ArrayBuffer(2)]) expect(code(() => run.push(bad as unknown as Uint8Array))).toBe('AUDIT_INVALID_ARGUMENT');
    for (const bad of [-1, 1, 0.5, Number.NaN]) expect(code(() => run.get(bad))).toBe('AUDIT_INVALID_ARGUMENT');
    expect(code(() => run.lengthOf(1))).toBe('AUDIT_INVALID_ARGUMENT');
    for (const [a, b] of [
      [-1, 0],
      [0, 2],
      [1, 0],
      [0.5, 1],
    ])
      expect(code(() => run.views(a!, b!))).toBe('AUDIT_INVALID_ARGUMENT');
    for (const bad of [-1, 0.5, Number.NaN]) expect(code(() => run.dropFront(bad))).toBe('AUDIT_INVALID_ARGUMENT');
    expect(run.length).toBe(1);
    expect(run.get(0)).toEqual(bytes(1, 8));
  });
});

describe('ByteRun.set', () => {
  it('replaces one entry, keeps the others and the chunk order that dropFront relies on', () => {
    const run = new ByteRun(64);
    for (let i = 0; i < 20; i++) run.push(bytes(i, 20));
    run.set(3, bytes(99, 7));
    expect(run.get(3)).toEqual(bytes(99, 7));
    expect(run.lengthOf(3)).toBe(7);
    run.dropFront(2);
    expect(run.get(1)).toEqual(bytes(99, 7));
    for (let i = 2; i < 18; i++) expect(run.get(i)).toEqual(bytes(i + 2, 20));
    run.dropFront(2);
    expect(run.get(0)).toEqual(bytes(4, 20));
    expect(() => run.set(16, bytes(1, 1))).toThrow(AuditError);
    expect(() => run.set(0, 'x' as unknown as Uint8Array)).toThrow(AuditError);
  });
});
