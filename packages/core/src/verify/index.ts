/**
 * `@ron-audit/core/verify`: the verifier and the format layer, without the writer, the engine or
 * node:crypto — usable in a browser, an edge runtime, or an auditor's script.
 */
export { verifyLog } from './verify.js';
export type { VerifyInput, VerifyReport, VerifyFailure } from './verify.js';
export { canonicalize, canonicalBytes, parseCanonical } from '../record/canonical.js';
// recordHash and genesisLink are format §3's names for the chain's nextLink and genesis.
export { nextLink as recordHash, genesis as genesisLink } from '../log/chain.js';
export { leafHash, nodeHash, contentDigest, K_CHAIN, K_GENESIS, EMPTY_ROOT } from '../prim/hash.js';
export { CompactRange, inclusionProof, consistencyProof, verifyInclusion, verifyConsistency, rootFromInclusionProof, rootOf, leavesReader } from '../log/merkle.js';
export type { TreeReader } from '../log/merkle.js';
export { parseCheckpoint, formatCheckpoint, isValidOrigin } from '../log/checkpoint.js';
export type { Checkpoint, LaneClaim } from '../log/checkpoint.js';
export { parseNote, openNote, parseVerifierKey, formatVerifierKey, keyIdOf } from '../sign/note.js';
export type { VerifierKey, NoteSignature, ParsedNote, OpenedNote } from '../sign/note.js';
export { verifyEd25519 } from '../sign/ed25519.js';
export { AuditError, isAuditError } from '../errors.js';
export type { AuditErrorCode } from '../errors.js';
export type { VerifyFailureReason } from '../log/memory.js';
export { verifyExport, readExportRange } from './export.js';
export { keyAnnounceMessage, keyRetireMessage, KEY_ANNOUNCE_ACTION, KEY_RETIRE_ACTION } from '../sign/rotation.js';
export type { ExportVerifyOptions, ExportVerifyReport, ExportFailure, ExportFailureReason, ExportRecord } from './export.js';
export { verifyLaneSet, checkLaneSet, LANE_SET_FAILURE_REASONS } from './lanes.js';
export type { LaneSetVerifyReport, LaneSetCheck, LaneSetFailure, LaneSetFailureReason, LaneEntry } from './lanes.js';
export { checkFields, FIELD_FAILURE_REASONS } from './fields.js';
export type { FieldFailure, FieldFailureReason } from './fields.js';
export { formatReceipt, parseReceipt, verifyReceipt, proveFromExport, RECEIPT_HEADER } from './receipt.js';
export type { Receipt, ReceiptVerification, ReceiptFailureReason } from './receipt.js';
