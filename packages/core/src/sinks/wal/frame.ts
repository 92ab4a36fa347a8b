import { crc32 } from 'node:zlib';

/**
 * WAL framing (docs/format.md §9): 8 magic bytes per segment, then frames of
 * len (u32 BE) ‖ type (u8) ‖ payload ‖ crc32(type ‖ payload) (u32 BE).
 */
export const MAGIC = Uint8Array.of(0x52, 0x4f, 0x4e, 0x57, 0x41, 0x4c, 0x00, 0x01);
export const FRAME_OVERHEAD = 9;
export const MAX_FRAME_PAYLOAD = 1 << 20;

export const FRAME_HEADER = 0x01;
export const FRAME_RECORD = 0x02;
export const FRAME_CHECKPOINT = 0x03;
/** Protocol 2: written after each commit's fdatasync returned; its payload is its own offset (8 bytes, big-endian). */
export const FRAME_SYNC = 0x04;
export const SYNC_PAYLOAD_BYTES = 8;
export type FrameType = typeof FRAME_HEADER | typeof FRAME_RECORD | typeof FRAME_CHECKPOINT | typeof FRAME_SYNC;

/** CRC-32 of the one type byte, per type: the seed a frame's CRC continues from (no allocation per frame). */
const TYPE_CRC: readonly number[] = Array.from({ length: 256 }, (_, t) => crc32(Uint8Array.of(t)));

export function frameCrc(type: number, payload: Uint8Array): number {
  return crc32(payload, TYPE_CRC[type & 0xff]!);
}

export function frameSize(payloadLength: number): number {
  return FRAME_OVERHEAD + payloadLength;
}

/** Write one frame into `out` at `off`; returns the offset after it. */
export function writeFrame(out: Uint8Array, off: number, type: FrameType, payload: Uint8Array): number {
  const len = payload.length;
  out[off] = len >>> 24;
  out[off + 1] = (len >>> 16) & 0xff;
  out[off + 2] = (len >>> 8) & 0xff;
  out[off + 3] = len & 0xff;
  out[off + 4] = type;
  out.set(payload, off + 5);
  const crc = frameCrc(type, payload);
  const c = off + 5 + len;
  out[c] = crc >>> 24;
  out[c + 1] = (crc >>> 16) & 0xff;
  out[c + 2] = (crc >>> 8) & 0xff;
  out[c + 3] = crc & 0xff;
  return c + 4;
}

export function encodeFrames(frames: readonly { type: FrameType; payload: Uint8Array }[]): Uint8Array {
  let total = 0;
  for (const f of frames) total += frameSize(f.payload.length);
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const f of frames) off = writeFrame(out, off, f.type, f.payload);
  return out;
}

export type FrameRead =
  | { readonly ok: true; readonly type: number; readonly payload: Uint8Array; readonly next: number }
  | { readonly ok: false; readonly why: 'torn' | 'too_long' | 'crc' | 'type' };

const u32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** Read the frame at `off`; `end` is where valid data stops (the file size). */
export function readFrame(buf: Uint8Array, off: number, end: number = buf.length): FrameRead {
  if (off + FRAME_OVERHEAD > end) return { ok: false, why: 'torn' };
  const len = u32(buf, off);
  if (len > MAX_FRAME_PAYLOAD) return { ok: false, why: 'too_long' };
  if (off + FRAME_OVERHEAD + len > end) return { ok: false, why: 'torn' };
  const type = buf[off + 4]!;
  if (type !== FRAME_HEADER && type !== FRAME_RECORD && type !== FRAME_CHECKPOINT && type !== FRAME_SYNC) return { ok: false, why: 'type' };
  const payload = buf.subarray(off + 5, off + 5 + len);
  if (u32(buf, off + 5 + len) !== frameCrc(type, payload)) return { ok: false, why: 'crc' };
  return { ok: true, type, payload, next: off + FRAME_OVERHEAD + len };
}

export function hasMagic(buf: Uint8Array): boolean {
  if (buf.length < MAGIC.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (buf[i] !== MAGIC[i]) return false;
  return true;
}

/** The payload of a sync mark written at segment offset `offset`. */
export function syncPayload(offset: number): Uint8Array {
  const p = new Uint8Array(SYNC_PAYLOAD_BYTES);
  new DataView(p.buffer).setBigUint64(0, BigInt(offset));
  return p;
}

/** Whether a sync mark's payload names `offset`, the offset it was found at. */
export function isSyncPayloadFor(payload: Uint8Array, offset: number): boolean {
  return payload.length === SYNC_PAYLOAD_BYTES && new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getBigUint64(0) === BigInt(offset);
}

/** Whether the frame at `off` is complete and its CRC matches, whatever its type (a CRC-valid unknown type is not a torn write). */
export function crcIntact(buf: Uint8Array, off: number): boolean {
  if (off + FRAME_OVERHEAD > buf.length) return false;
  const len = u32(buf, off);
  if (len > MAX_FRAME_PAYLOAD || off + FRAME_OVERHEAD + len > buf.length) return false;
  return u32(buf, off + 5 + len) === frameCrc(buf[off + 4]!, buf.subarray(off + 5, off + 5 + len));
}
