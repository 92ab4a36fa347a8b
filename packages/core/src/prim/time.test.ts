import { describe, expect, it } from 'vitest';
import { isRfc3339Millis } from './time.js';

/** The definition isRfc3339Millis implements without a Date (its implementation until issue 9). */
function throughDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(s)) return false;
  const t = Date.parse(s);
  return Number.isFinite(t) && new Date(t).toISOString() === s;
}

const pad = (v: number, w: number): string => String(v).padStart(w, '0');

describe('isRfc3339Millis', () => {
  it('answers as Date.parse + toISOString round-trip on every field boundary', () => {
    const years = [0, 1, 99, 100, 400, 1600, 1900, 1970, 2000, 2023, 2024, 2100, 2400, 9999];
    let checked = 0;
    for (const y of years)
      for (let mo = 0; mo <= 13; mo++)
        for (const d of [0, 1, 27, 28, 29, 30, 31, 32])
          for (const [h, mi, se] of [[0, 0, 0], [23, 59, 59], [24, 0, 0], [23, 60, 0], [23, 59, 60], [12, 30, 45]] as const) {
            const s = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(se, 2)}.${pad((y + d) % 1000, 3)}Z`;
            expect(isRfc3339Millis(s), s).toBe(throughDate(s));
            checked++;
          }
    expect(checked).toBe(years.length * 14 * 8 * 6);
  });

  it('answers as the round-trip on random and malformed strings', () => {
    let seed = 9;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const base = '2024-02-29T23:59:59.999Z';
    const alphabet = '0123456789-T:.Z +zt';
    for (let k = 0; k < 20_000; k++) {
      const chars = [...base];
      for (let m = rnd(3) + 1; m > 0; m--) chars[rnd(chars.length)] = alphabet[rnd(alphabet.length)]!;
      let s = chars.join('');
      if (rnd(10) === 0) s = s.slice(0, rnd(s.length)) + (rnd(2) ? '0' : '');
      expect(isRfc3339Millis(s), s).toBe(throughDate(s));
    }
    for (const s of ['', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000+00:00', '+002024-01-01T00:00:00.000Z', '2024-01-01t00:00:00.000z', '２024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.0000Z']) {
      expect(isRfc3339Millis(s), s).toBe(throughDate(s));
      expect(isRfc3339Millis(s), s).toBe(false);
    }
  });
});
