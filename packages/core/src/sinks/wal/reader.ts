import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeFileOps, type FileOps } from '../fs.js';
import { FRAME_CHECKPOINT, FRAME_HEADER, FRAME_RECORD, MAGIC, hasMagic, readFrame } from './frame.js';
import { recordLinks } from './links.js';
import { listSegments, parseHeader } from './segment.js';

export interface WalEntry {
  readonly type: 'header' | 'record' | 'checkpoint';
  /** For records: the seq the record carries. */
  readonly seq?: number;
  readonly bytes: Uint8Array;
  readonly segment: string;
  readonly offset: number;
}

/**
 * Read a WAL directory frame by frame, in order, without changing it (for `ronctl audit replay`
 * and export/PostgreSQL catch-up). Stops at the first frame that is not intact; `readWal` never
 * repairs. With `fromSeq`, segments that end before it are not read (later ones are, whole).
 */
export async function* readWal(dir: string, ops: FileOps = nodeFileOps, fromSeq = 0): AsyncIterable<WalEntry> {
  const segments = listSegments(await ops.readdir(dir));
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const next = segments[i + 1];
    if (next !== undefined && next.firstSeq <= fromSeq) continue;
    const buf = await ops.readFile(join(dir, seg.name));
    if (!hasMagic(buf)) return;
    let off = MAGIC.length;
    while (off < buf.length) {
      const f = readFrame(buf, off);
      if (!f.ok) return;
      const bytes = Buffer.from(f.payload);
      if (f.type === FRAME_RECORD) {
        const links = recordLinks(bytes);
        yield links ? { type: 'record', seq: links.seq, bytes, segment: seg.name, offset: off } : { type: 'record', bytes, segment: seg.name, offset: off };
      } else if (f.type === FRAME_CHECKPOINT) yield { type: 'checkpoint', bytes, segment: seg.name, offset: off };
      else if (f.type === FRAME_HEADER) yield { type: 'header', bytes, segment: seg.name, offset: off };
      off = f.next;
    }
  }
}

/** The origin recorded in an existing WAL, read synchronously at construction (one small read). */
export function peekWalOrigin(dir: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const first = listSegments(names)[0];
  if (!first) return undefined;
  try {
    const buf = new Uint8Array(readFileSync(join(dir, first.name)).subarray(0, 4096));
    if (!hasMagic(buf)) return undefined;
    const f = readFrame(buf, MAGIC.length);
    return f.ok && f.type === FRAME_HEADER ? parseHeader(f.payload)?.origin : undefined;
  } catch {
    return undefined;
  }
}
