import { invalidArgument } from '../../errors.js';
import { canonicalBytes } from '../../record/canonical.js';

/** Segment files are named by the seq of their first record, 20 decimal digits: sorting by name is sorting by seq. */
export const SEGMENT_RE = /^(\d{20})\.wal$/;
export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;

export function segmentName(firstSeq: number): string {
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 0) throw invalidArgument('firstSeq', 'a seq ≥ 0', firstSeq);
  return `${String(firstSeq).padStart(20, '0')}.wal`;
}

export function segmentFirstSeq(name: string): number | undefined {
  const m = SEGMENT_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function listSegments(names: readonly string[]): { name: string; firstSeq: number }[] {
  return names
    .map((name) => ({ name, firstSeq: segmentFirstSeq(name) }))
    .filter((s): s is { name: string; firstSeq: number } => s.firstSeq !== undefined)
    .sort((a, b) => a.firstSeq - b.firstSeq);
}

/** The write protocol of segments this engine creates (docs/format.md §9.1); 1 is still recovered (§9.3). */
export const WAL_PROTOCOL = 2;
export type WalProtocol = 1 | 2;

/** The log's state where a segment starts (format §9.5): the chain head and the tree's frontier, hex. */
export interface SegmentState {
  readonly prev: string;
  readonly tree: readonly string[];
}

export interface SegmentHeader {
  readonly v: WalProtocol;
  readonly origin: string;
  readonly first_seq: number;
  readonly state?: SegmentState;
}

const HEX64 = /^[0-9a-f]{64}$/;

function frontierNodes(size: number): number {
  let bits = 0;
  for (let n = size; n > 0; n = Math.floor(n / 2)) bits += n % 2;
  return bits;
}

export function headerPayload(origin: string, firstSeq: number, protocol: WalProtocol = WAL_PROTOCOL, state?: SegmentState): Uint8Array {
  return canonicalBytes(state === undefined ? { first_seq: firstSeq, origin, v: protocol } : { first_seq: firstSeq, origin, prev: state.prev, tree: [...state.tree], v: protocol });
}

export function parseHeader(payload: Uint8Array): SegmentHeader | undefined {
  try {
    const h = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(payload)) as Record<string, unknown>;
    const v = h['v'];
    if ((v !== 1 && v !== 2) || typeof h['origin'] !== 'string' || !Number.isSafeInteger(h['first_seq'])) return undefined;
    const firstSeq = h['first_seq'] as number;
    if (h['prev'] === undefined && h['tree'] === undefined) return { v, origin: h['origin'], first_seq: firstSeq };
    const prev = h['prev'];
    const tree = h['tree'];
    if (v !== 2 || typeof prev !== 'string' || !HEX64.test(prev) || !Array.isArray(tree) || tree.length !== frontierNodes(firstSeq) || !tree.every((t) => typeof t === 'string' && HEX64.test(t))) return undefined;
    return { v, origin: h['origin'], first_seq: firstSeq, state: { prev, tree: tree as string[] } };
  } catch {
    return undefined;
  }
}
