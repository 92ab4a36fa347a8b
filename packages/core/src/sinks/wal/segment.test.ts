import { describe, expect, it } from 'vitest';
import { isAuditError } from '../../errors.js';
import { headerPayload, listSegments, parseHeader, segmentFirstSeq, segmentName } from './segment.js';

describe('WAL segment names', () => {
  it('sort by name as by first seq', () => {
    const names = [segmentName(1000), segmentName(5), segmentName(0), 'junk.wal', 'checkpoint', `${segmentName(7)}.tmp`];
    expect(listSegments(names).map((s) => s.firstSeq)).toEqual([0, 5, 1000]);
    expect(segmentName(2 ** 53 - 1)).toBe('00009007199254740991.wal');
    expect(segmentFirstSeq('00000000000000000042.wal')).toBe(42);
  });

  it('refuse a negative, fractional or unsafe first seq', () => {
    for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) {
      expect(() => segmentName(bad)).toThrow(expect.objectContaining({ code: 'AUDIT_INVALID_ARGUMENT' }));
    }
    try {
      segmentName(-1);
    } catch (err) {
      expect(isAuditError(err, 'AUDIT_INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('carry origin and first seq in a canonical header frame payload', () => {
    const p = headerPayload('example.com/log', 12);
    expect(new TextDecoder().decode(p)).toBe('{"first_seq":12,"origin":"example.com/log","v":2}');
    expect(parseHeader(p)).toEqual({ v: 2, origin: 'example.com/log', first_seq: 12 });
    // Protocol 1 headers (older engines) still parse: their segments are recovered (format §9.3).
    const v1 = headerPayload('example.com/log', 12, 1);
    expect(new TextDecoder().decode(v1)).toBe('{"first_seq":12,"origin":"example.com/log","v":1}');
    expect(parseHeader(v1)).toEqual({ v: 1, origin: 'example.com/log', first_seq: 12 });
    expect(parseHeader(new TextEncoder().encode('{"v":2}'))).toBeUndefined();
    expect(parseHeader(new TextEncoder().encode('{"first_seq":12,"origin":"example.com/log","v":3}'))).toBeUndefined();
    expect(parseHeader(new Uint8Array([0xff]))).toBeUndefined();
  });
});
