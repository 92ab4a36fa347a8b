import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { FRAME_CHECKPOINT, FRAME_OVERHEAD, FRAME_RECORD, MAX_FRAME_PAYLOAD, encodeFrames, frameCrc, readFrame } from './frame.js';

const payload = (n: number, fill = 7): Uint8Array => new Uint8Array(n).fill(fill);

describe('WAL frames', () => {
  it('a frame CRC is the CRC-32 of the type byte followed by the payload, for every type byte', () => {
    const p = Uint8Array.from({ length: 97 }, (_, i) => (i * 31) & 0xff);
    for (let t = 0; t < 256; t++) {
      expect(frameCrc(t, p)).toBe(crc32(Buffer.concat([Uint8Array.of(t), p])));
      expect(frameCrc(t, new Uint8Array(0))).toBe(crc32(Uint8Array.of(t)));
    }
  });

  it('round-trip one write of several frames', () => {
    const frames = [
      { type: FRAME_CHECKPOINT, payload: payload(10, 1) },
      { type: FRAME_RECORD, payload: payload(0) },
      { type: FRAME_RECORD, payload: payload(300, 2) },
    ] as const;
    const buf = encodeFrames(frames);
    expect(buf.length).toBe(3 * FRAME_OVERHEAD + 310);
    let off = 0;
    for (const f of frames) {
      const r = readFrame(buf, off);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.type).toBe(f.type);
      expect(new Uint8Array(r.payload)).toEqual(f.payload);
      off = r.next;
    }
    expect(off).toBe(buf.length);
  });

  it('report a frame cut anywhere as torn', () => {
    const buf = encodeFrames([{ type: FRAME_RECORD, payload: payload(40) }]);
    for (let cut = 0; cut < buf.length; cut++) expect(readFrame(buf.subarray(0, cut), 0)).toEqual({ ok: false, why: 'torn' });
  });

  it('detect every single-bit flip', () => {
    const buf = encodeFrames([{ type: FRAME_RECORD, payload: payload(24, 0x5a) }]);
    for (let i = 0; i < buf.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = buf.slice();
        copy[i]! ^= 1 << bit;
        const r = readFrame(copy, 0);
        expect(r.ok, `byte ${i} bit ${bit}`).toBe(false);
      }
    }
  });

  it('refuse a length above the frame limit without reading it', () => {
    const buf = new Uint8Array(16);
    new DataView(buf.buffer).setUint32(0, MAX_FRAME_PAYLOAD + 1);
    expect(readFrame(buf, 0)).toEqual({ ok: false, why: 'too_long' });
  });
});
