// The seq and prev of a WAL record frame, read without a JSON parse (recovery, the writer's segment
// headers, the reader and the PostgreSQL shipper share it).
const PREV = Buffer.from('"prev":"');
const SEQ = Buffer.from('"seq":');

/**
 * seq and prev of a record written by our appender, without a full JSON parse: in JCS order every
 * member after the top-level `prev` (request_id, seq, span_id, target, time, trace_id, v) is a
 * string, number or the flat target object, so the *last* `"prev":"` and `"seq":` are the
 * top-level ones. Recovery trusts only what it re-derives (chain, tree, signatures); the full
 * canonical-form check is the verifier's job (`ronctl audit verify --wal-dir`).
 */
export function recordLinks(bytes: Uint8Array): { seq: number; prev: string } | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const p = b.lastIndexOf(PREV);
  const s = b.lastIndexOf(SEQ);
  if (p < 0 || s < 0 || s < p) return undefined;
  const prev = b.toString('latin1', p + PREV.length, p + PREV.length + 64);
  let end = s + SEQ.length;
  while (end < b.length && b[end]! >= 0x30 && b[end]! <= 0x39) end++;
  const digits = b.toString('latin1', s + SEQ.length, end);
  if (digits.length === 0 || digits.length > 16) return undefined;
  return { seq: Number(digits), prev };
}
