import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Appender } from '../log/appender.js';
import { createFastBackend } from '../prim/hash-fast.js';
import { genesis as genesisLink, nextLink as recordHash } from '../log/chain.js';
import { getHashBackend, leafHash, leafHashOfInput, pureBackend, setHashBackend, type HashBackend } from '../prim/hash.js';
import { fromHex, toHex } from '../prim/hex.js';
import { CompactRange } from '../log/merkle.js';
import { MemoryLog } from '../log/memory.js';
import { RetainedTree } from '../log/tree.js';
import { seedSigner } from '../sign/note.js';
import { prepareEvent, recordBytes, recordLeafInput, type AuditEvent } from './record.js';
import { createRedactor } from './redact.js';

/**
 * ron-audit format v1 vectors (test/vectors/ron-audit/, written by make-vectors.mjs without the
 * engine): the engine's own record builder, hashes and tree must reproduce them byte for byte.
 */

const RA = new URL('../../test/vectors/ron-audit/', import.meta.url);
const readJson = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, RA), 'utf8')) as T;

interface RecordCase {
  name: string;
  seq: number;
  prev: string;
  event: AuditEvent;
  record: string;
  bytes: number;
  hash: string;
  leafHash: string;
}
interface ChainRecord {
  seq: number;
  prev: string;
  record: string;
  hash: string;
  leafHash: string;
  rootAfter: string;
}
interface Chain {
  origin: string;
  genesis: string;
  emptyRoot: string;
  events: AuditEvent[];
  records: ChainRecord[];
  head: string;
  root: string;
}
interface CheckpointVector {
  origin: string;
  seed: string;
  time: string;
  note: string;
}

const records = readJson<{ cases: RecordCase[] }>('records.json').cases;
const chain = readJson<Chain>('chain.json');
const checkpoint = readJson<CheckpointVector>('checkpoint.json');

const utf8 = new TextDecoder('utf-8', { fatal: true });
const redactor = createRedactor(undefined);
const noNewId = (): string => {
  throw new Error('vector events carry their own id');
};

/** The engine's path: prepare once, then write the record at (seq, prev). */
function build(event: AuditEvent, seq: number, prev: string): Uint8Array {
  return recordBytes(prepareEvent(event, redactor, noNewId, 0), seq, prev);
}

const original = getHashBackend();
afterEach(() => setHashBackend(original));

const backends: [string, () => Promise<HashBackend>][] = [
  ['pure', async () => pureBackend],
  ['fast', () => createFastBackend()],
];

describe('records.json: event → canonical record bytes and hashes', () => {
  it('has the cases make-vectors.mjs writes', () => {
    expect(records.map((c) => c.name)).toEqual(['minimal', 'all-optional-members', 'traceparent', 'numbers', 'strings-and-key-order', 'time-from-epoch-ms']);
  });

  for (const [name, make] of backends) {
    for (const c of records) {
      it(`${name}: ${c.name}`, async () => {
        setHashBackend(await make());
        const bytes = build(c.event, c.seq, c.prev);
        expect(utf8.decode(bytes)).toBe(c.record);
        expect(bytes.length).toBe(c.bytes);
        expect(toHex(recordHash(bytes))).toBe(c.hash);
        expect(toHex(leafHash(bytes))).toBe(c.leafHash);
        // The appender's form: 0x00 ‖ record in one buffer, hashed in place for the leaf.
        const input = recordLeafInput(prepareEvent(c.event, redactor, noNewId, 0), c.seq, c.prev);
        expect(input[0]).toBe(0x00);
        expect(utf8.decode(input.subarray(1))).toBe(c.record);
        expect(toHex(leafHashOfInput(input))).toBe(c.leafHash);
      });
    }
  }
});

describe('chain.json: a 5-record log', () => {
  for (const [name, make] of backends) {
    it(`${name}: genesis link, every record, prev, hash, leaf hash and root after each record`, async () => {
      setHashBackend(await make());
      expect(toHex(genesisLink(chain.origin))).toBe(chain.genesis);
      const tree = new RetainedTree();
      const compact = new CompactRange();
      expect(toHex(tree.root())).toBe(chain.emptyRoot);
      let prev = toHex(genesisLink(chain.origin));
      chain.events.forEach((event, seq) => {
        const want = chain.records[seq]!;
        expect(prev, `prev of ${seq}`).toBe(want.prev);
        const bytes = build(event, seq, prev);
        expect(utf8.decode(bytes), `record ${seq}`).toBe(want.record);
        expect(toHex(recordHash(bytes)), `hash ${seq}`).toBe(want.hash);
        const leaf = leafHash(bytes);
        expect(toHex(leaf), `leaf ${seq}`).toBe(want.leafHash);
        tree.append(leaf);
        compact.append(leaf);
        expect(toHex(tree.root()), `root after ${seq}`).toBe(want.rootAfter);
        expect(toHex(compact.root()), `compact root after ${seq}`).toBe(want.rootAfter);
        prev = toHex(recordHash(bytes));
      });
      expect(prev).toBe(chain.head);
      expect(toHex(tree.root())).toBe(chain.root);
    });
  }

  it('the appender writes exactly this log and signs exactly checkpoint.json\'s note', async () => {
    const log = new MemoryLog(chain.origin, 1 << 20);
    const errors: unknown[] = [];
    const appender = new Appender(log, 64, { onAppended() {}, onCheckpoint() {}, onError: (e) => errors.push(e) }, () => Date.parse(checkpoint.time));
    appender.setSigner(seedSigner(checkpoint.origin, fromHex(checkpoint.seed)!));
    for (const event of chain.events) appender.push(prepareEvent(event, redactor, noNewId, 0));
    await appender.idle();
    expect(errors).toEqual([]);
    expect(log.retained().records.map((b) => utf8.decode(b))).toEqual(chain.records.map((r) => r.record));
    expect(toHex(log.chainHead)).toBe(chain.head);
    expect(toHex(log.root())).toBe(chain.root);
    expect(log.checkpoint?.note).toBe(checkpoint.note);
  });
});
