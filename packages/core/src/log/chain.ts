import { assertBytes, assertString } from '../errors.js';
import { getHashBackend } from '../prim/hash.js';

/**
 * The hash chain of format §3, in one place: record 0 carries G(origin) in `prev`, record n+1
 * carries H(record n). The appender derives the links it splices into new records from here, and
 * every reader that checks them (Micronode verify-on-read, verifyLog, the export and PostgreSQL
 * verifiers, WAL recovery) re-derives them from here, so writer and verifiers cannot drift apart.
 */

const utf8 = new TextEncoder();

/** G(origin): BLAKE3-keyed(K_GENESIS, UTF-8 origin), the link record 0 carries in `prev`. */
export function genesis(origin: string): Uint8Array {
  assertString('origin', origin);
  return getHashBackend().blake3Keyed('genesis', utf8.encode(origin));
}

/** H(r): BLAKE3-keyed(K_CHAIN, canonical bytes of r), the link the record after r carries in `prev`. */
export function nextLink(bytes: Uint8Array): Uint8Array {
  assertBytes('bytes', bytes);
  return getHashBackend().blake3Keyed('chain', bytes);
}
