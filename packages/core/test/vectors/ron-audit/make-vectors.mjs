#!/usr/bin/env node
// Writes the ron-audit format v1 vectors (docs/format.md, section "Vectors") next to this file:
// records.json, chain.json, checkpoint.json and tamper/*.json.
//
// Independent of the engine on purpose: nothing here imports packages/core/src. The values come
// from docs/format.md, a hand-rolled RFC 8785 canonicalizer, @noble/hashes (BLAKE3 keyed mode,
// SHA-256) and @noble/ed25519, so a test that compares the engine against these files is not the
// engine compared with itself. Every tamper case states its expected failure by hand and is
// cross-checked here by a small §8 verifier written from the document.
//
// Run from anywhere: `node packages/core/test/vectors/ron-audit/make-vectors.mjs`. The output is
// deterministic; commit it. Re-running must not change a byte unless the format changed.

import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as ed from '@noble/ed25519';
import { blake3 } from '@noble/hashes/blake3.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;

const OUT = new URL('./', import.meta.url);
const utf8 = new TextEncoder();
const hex = (b) => Buffer.from(b).toString('hex');
const b64 = (b) => Buffer.from(b).toString('base64');
const fromHex = (s) => new Uint8Array(Buffer.from(s, 'hex'));

function check(cond, message) {
  if (!cond) throw new Error(`make-vectors: ${message}`);
}

// ---- RFC 8785, by hand ---------------------------------------------------------------------
// ES2019+ JSON.stringify writes strings and finite numbers exactly as JCS requires (escapes
// \b \t \n \f \r \" \\, \u00xx lowercase for other controls, everything else literal; numbers in
// Number.prototype.toString form). Array.prototype.sort compares UTF-16 code units.
function jcs(v) {
  if (v === null || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'number') {
    check(Number.isFinite(v), 'non-finite number');
    return JSON.stringify(v);
  }
  if (typeof v === 'string') {
    check(v.isWellFormed(), 'lone surrogate');
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
  return `{${keys.map((k) => `${jcs(k)}:${jcs(v[k])}`).join(',')}}`;
}

// ---- format.md §3 and §4 -------------------------------------------------------------------
const K_CHAIN = blake3(new Uint8Array(0), { context: utf8.encode('ron-audit 2026-11-27 format v1 record chain') });
const K_GENESIS = blake3(new Uint8Array(0), { context: utf8.encode('ron-audit 2026-11-27 format v1 genesis') });
check(hex(K_CHAIN) === '4c404cb757fc326668757d2c9bdefc20bed7da6d8088714313afd59b542af820', 'K_CHAIN differs from format.md');
check(hex(K_GENESIS) === '427de27f6693fbb44da9537fed0905e69e3009acd416d368752a6cf626cce334', 'K_GENESIS differs from format.md');

const recordHash = (bytes) => blake3(bytes, { key: K_CHAIN });
const genesisLink = (origin) => blake3(utf8.encode(origin), { key: K_GENESIS });
const leafHash = (bytes) => sha256(Uint8Array.of(0x00, ...bytes));
const nodeHash = (l, r) => sha256(Uint8Array.of(0x01, ...l, ...r));
const EMPTY_ROOT = sha256(new Uint8Array(0));

function merkleRoot(leaves) {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

// ---- format.md §2.2: the record an event becomes -------------------------------------------
// Events carry a fixed id and time, so nothing here depends on a clock or a random source.
function parseTraceparent(header) {
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(header);
  check(m && m[1] !== 'ff' && !/^0+$/.test(m[2]) && !/^0+$/.test(m[3]), `bad traceparent ${header}`);
  return { trace_id: m[2], span_id: m[3] };
}

function recordObject(event, seq, prev) {
  const time = typeof event.time === 'number' ? new Date(event.time).toISOString() : event.time;
  check(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(time), `time ${time}`);
  const trace = event.traceparent !== undefined && event.trace_id === undefined ? parseTraceparent(event.traceparent) : {};
  const r = {
    v: 1,
    seq,
    prev,
    id: event.id,
    time,
    action: event.action,
    outcome: event.outcome,
    actor: event.actor ?? { id: 'anonymous', type: 'anonymous' },
    annotations: event.annotations ?? {},
    attributes: event.attributes ?? {},
  };
  for (const k of ['target', 'request_id', 'trace_id', 'span_id', 'body']) if (event[k] !== undefined) r[k] = event[k];
  if (trace.trace_id) Object.assign(r, trace);
  return r;
}

const recordText = (event, seq, prev) => jcs(recordObject(event, seq, prev));

function capturedJsonBody(text) {
  const bytes = utf8.encode(text);
  return { size: bytes.length, digest: hex(blake3(bytes)), truncated: false, encoding: 'json', content: JSON.parse(text) };
}

// ---- the events --------------------------------------------------------------------------
const ORIGIN_A = 'audit.example.com/vectors/log-a';
const ORIGIN_B = 'audit.example.com/vectors/log-b';

const CHAIN_EVENTS = [
  {
    id: '019ac3f0-8f35-7b4c-9a8e-2f6c1d0e5a10',
    time: '2026-11-27T06:01:08.001Z',
    action: 'user.login',
    outcome: 'success',
    actor: { id: 'u-42', type: 'user', name: 'Ada Lovelace' },
    attributes: { 'client.address': '192.0.2.10', 'user_agent.original': 'curl/8.5.0' },
  },
  {
    id: '019ac3f0-8f36-7b4c-9a8e-2f6c1d0e5a11',
    time: '2026-11-27T06:01:08.123Z',
    action: 'http.request',
    outcome: 'success',
    actor: { id: 'u-42', type: 'user' },
    annotations: { tenant: 'acme' },
    attributes: {
      'http.request.method': 'POST',
      'url.path': '/orders',
      'http.route': '/orders',
      'http.response.status_code': 201,
      'server.request.duration_ms': 12.5,
    },
    request_id: 'req-7f3a',
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  },
  {
    id: '019ac3f0-8f37-7b4c-9a8e-2f6c1d0e5a12',
    time: '2026-11-27T06:01:08.500Z',
    action: 'user.delete',
    outcome: 'failure',
    actor: { id: 'u-42', type: 'user', groups: ['admins', 'sre'] },
    target: { type: 'user', id: 'u-7' },
    annotations: { reason: 'Zugriff verweigert — Größe ✓ 😀' },
  },
  {
    id: '019ac3f0-8f38-7b4c-9a8e-2f6c1d0e5a13',
    time: '2026-11-27T06:01:08.777Z',
    action: 'system.key_rotation',
    outcome: 'aborted',
  },
  {
    id: '019ac3f0-8f39-7b4c-9a8e-2f6c1d0e5a14',
    time: '2026-11-27T06:01:08.999Z',
    action: 'http.request',
    outcome: 'success',
    actor: { id: 'svc-billing', type: 'service' },
    attributes: { 'http.request.method': 'PUT', 'url.path': '/orders/17', 'http.response.status_code': 200, 'http.request.header.x-tenant': ['acme', 'beta'] },
    request_id: 'req-7f3b',
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: 'b7ad6b7169203331',
    body: { request: capturedJsonBody('{"qty":2,"sku":"A-1"}') },
  },
];

// Log B: another log, for the splice and origin-mismatch cases.
const CHAIN_B_EVENTS = CHAIN_EVENTS.map((e, i) => ({ ...e, id: e.id.replace(/5a1(\d)$/, `5b1${i}`), annotations: { ...(e.annotations ?? {}), log: 'b' } }));

const SINGLE_EVENTS = [
  {
    name: 'minimal',
    description: 'Only action and outcome (plus the fixed id and time): actor defaults to anonymous, annotations and attributes to {}; no optional member is written.',
    event: { id: '019ac3f0-9000-7000-8000-000000000001', time: '2026-11-27T06:02:00.000Z', action: 'user.logout', outcome: 'success' },
  },
  {
    name: 'all-optional-members',
    description: 'Every optional member present (target, request_id, trace_id, span_id, body): pins where each sits in the member order, around prev and seq.',
    event: {
      id: '019ac3f0-9000-7000-8000-000000000002',
      time: '2026-11-27T06:02:00.001Z',
      action: 'order.update',
      outcome: 'failure',
      actor: { id: 'u-1', type: 'user', name: 'Grace', groups: [] },
      target: { type: 'order', id: 'o-17' },
      annotations: { 'change.ticket': 'CHG-1', a: '' },
      attributes: { 'http.response.status_code': 409, 'error.type': 'conflict', retry: false },
      request_id: 'r-1',
      trace_id: 'ffffffffffffffffffffffffffffffff',
      span_id: '0000000000000001',
      body: {
        request: { size: 5, digest: hex(blake3(utf8.encode('hello'))), truncated: false, encoding: 'utf8', content: 'hello' },
        response: { size: 3, digest: hex(blake3(Uint8Array.of(0, 1, 2))), truncated: false, encoding: 'base64', content: 'AAEC' },
      },
    },
  },
  {
    name: 'traceparent',
    description: 'trace_id and span_id taken from a W3C traceparent when the event has neither.',
    event: {
      id: '019ac3f0-9000-7000-8000-000000000003',
      time: '2026-11-27T06:02:00.002Z',
      action: 'http.request',
      outcome: 'success',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00',
    },
  },
  {
    name: 'numbers',
    description: 'Attribute numbers in ECMAScript Number.prototype.toString form (RFC 8785 §3.2.2.3).',
    event: {
      id: '019ac3f0-9000-7000-8000-000000000004',
      time: '2026-11-27T06:02:00.003Z',
      action: 'metrics.sample',
      outcome: 'success',
      attributes: { big: 1e21, small: 1e-7, micro: 0.000001, frac: 0.1 + 0.2, max_safe: 9007199254740991, neg: -1.5e-300, exp: 123e18, zero: 0 },
    },
  },
  {
    name: 'strings-and-key-order',
    description: 'String escapes (controls, quote, backslash, no escaping of / or non-ASCII) and member order by UTF-16 code units (U+1F602 sorts before U+FB33).',
    event: {
      id: '019ac3f0-9000-7000-8000-000000000005',
      time: '2026-11-27T06:02:00.004Z',
      action: 'note.write',
      outcome: 'success',
      actor: { id: 'ü-1', type: 'user', name: 'Zoë "Z" \\ O\'Brien' },
      annotations: { '\u{1F602}': 'emoji key', '\uFB33': 'hebrew key', é: 'e acute', z: 'zed', Z: 'Zed', '10': 'digits', '9': 'digit' },
      attributes: { text: 'tab\there\nnew line\u0001\u001f\u007f/slash\u2028\u2029', 'url.path': '/a/b?c=d' },
    },
  },
  {
    name: 'time-from-epoch-ms',
    description: 'An event time given as epoch milliseconds is written as RFC 3339 UTC with milliseconds.',
    event: { id: '019ac3f0-9000-7000-8000-000000000006', time: Date.UTC(2026, 10, 27, 6, 2, 0, 5), action: 'cron.run', outcome: 'success' },
  },
];

// ---- keys and notes (format.md §5, §6) -------------------------------------------------------
const seedOf = (label) => sha256(utf8.encode(`ron-audit format v1 test vector key: ${label} (public, never use for anything real)`));

function keyId(name, pub) {
  return sha256(Uint8Array.of(...utf8.encode(name), 0x0a, 0x01, ...pub)).subarray(0, 4);
}

function signer(name, seed) {
  const publicKey = ed.getPublicKey(seed);
  const id = keyId(name, publicKey);
  return { name, seed, publicKey, keyId: id, vkey: `${name}+${hex(id)}+${b64(Uint8Array.of(0x01, ...publicKey))}` };
}

function checkpointText(origin, size, root, time) {
  return `${origin}\n${size}\n${b64(root)}\ntime ${time}\n`;
}

function signedNote(text, signers) {
  let note = `${text}\n`;
  for (const s of signers) note += `\u2014 ${s.name} ${b64(Uint8Array.of(...s.keyId, ...ed.sign(utf8.encode(text), s.seed)))}\n`;
  return note;
}

// ---- build the logs ------------------------------------------------------------------------
function buildLog(origin, events) {
  const records = [];
  let prev = hex(genesisLink(origin));
  const leaves = [];
  for (const [seq, event] of events.entries()) {
    const text = recordText(event, seq, prev);
    const bytes = utf8.encode(text);
    const hash = recordHash(bytes);
    leaves.push(leafHash(bytes));
    records.push({ seq, prev, record: text, hash: hex(hash), leafHash: hex(leaves[seq]), rootAfter: hex(merkleRoot(leaves)) });
    prev = hex(hash);
  }
  return { origin, genesis: hex(genesisLink(origin)), records, head: prev, root: hex(merkleRoot(leaves)) };
}

const CP_TIME = '2026-11-27T06:01:09.000Z';
const keyA = signer(ORIGIN_A, seedOf('log A'));
const keyB = signer(ORIGIN_B, seedOf('log B'));
const keyUnknown = signer(ORIGIN_A, seedOf('not the key of log A'));

const logA = buildLog(ORIGIN_A, CHAIN_EVENTS);
const logB = buildLog(ORIGIN_B, CHAIN_B_EVENTS);
const textA = checkpointText(ORIGIN_A, logA.records.length, fromHex(logA.root), CP_TIME);
const noteA = signedNote(textA, [keyA]);
const textB = checkpointText(ORIGIN_B, logB.records.length, fromHex(logB.root), CP_TIME);
const noteB = signedNote(textB, [keyB]);

// ---- a §8 verifier, written from the document only ---------------------------------------
function verify({ origin, records, checkpoint, keys }) {
  const fail = (reason, seq = null) => ({ ok: false, reason, seq });
  const trusted = keys.map((vkey) => {
    const [name, id, key] = [vkey.slice(0, vkey.indexOf('+')), vkey.split('+')[1], vkey.slice(vkey.indexOf('+', vkey.indexOf('+') + 1) + 1)];
    return { name, id, pub: new Uint8Array(Buffer.from(key, 'base64')).subarray(1) };
  });
  const split = checkpoint.lastIndexOf('\n\n');
  const text = checkpoint.slice(0, split + 1);
  const [cpOrigin, cpSize, cpRoot] = text.split('\n');
  if (cpOrigin !== origin) return fail('origin_mismatch');
  let good = 0;
  for (const line of checkpoint.slice(split + 2, -1).split('\n')) {
    const [, name, sigB64] = /^\u2014 (\S+) (\S+)$/.exec(line);
    const raw = new Uint8Array(Buffer.from(sigB64, 'base64'));
    // §6: a key's name is its log's origin; a key named for another log never counts for this one.
    const k = trusted.find((t) => t.name === origin && t.name === name && t.id === hex(raw.subarray(0, 4)));
    if (!k) continue;
    if (!ed.verify(raw.subarray(4), utf8.encode(text), k.pub, { zip215: false })) return fail('signature_invalid');
    good++;
  }
  if (good === 0) return fail('signature_invalid');
  const size = Number(cpSize);
  let prev = hex(genesisLink(origin));
  const leaves = [];
  for (let i = 0; i < size; i++) {
    if (i >= records.length) return fail('truncated', i);
    let r;
    try {
      r = JSON.parse(records[i]);
    } catch {
      return fail('not_canonical', i);
    }
    if (r === null || typeof r !== 'object' || Array.isArray(r) || jcs(r) !== records[i]) return fail('not_canonical', i);
    if (r.v !== 1) return fail('bad_version', i);
    if (r.seq !== i) return fail('bad_seq', i);
    if (r.prev !== prev) return fail('chain_broken', i);
    const field = fieldRule(r);
    if (field !== null) return fail(field, i);
    const bytes = utf8.encode(records[i]);
    prev = hex(recordHash(bytes));
    leaves.push(leafHash(bytes));
  }
  if (b64(merkleRoot(leaves)) !== cpRoot) return fail('root_mismatch');
  return { ok: true, verified: size };
}

// The member rules of format.md §2.2, written from the table (not from the engine): the name of
// the first rule a record breaks, or null. Unknown members are allowed at every level.
function fieldRule(r) {
  const obj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const str = (v, min, max) => typeof v === 'string' && v.length >= min && v.length <= max;
  const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const utcMillis = (t) => typeof t === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(t) && !Number.isNaN(Date.parse(t)) && new Date(Date.parse(t)).toISOString() === t;
  if (!str(r.id, 1, 128)) return 'bad_id';
  if (!utcMillis(r.time)) return 'bad_time';
  if (!str(r.action, 1, 256)) return 'bad_action';
  if (!['success', 'failure', 'aborted'].includes(r.outcome)) return 'bad_outcome';
  const a = r.actor;
  if (!obj(a) || !str(a.id, 1, 256) || !str(a.type, 1, 256) || (has(a, 'name') && !str(a.name, 0, 256))) return 'bad_actor';
  if (has(a, 'groups') && (!Array.isArray(a.groups) || a.groups.length > 64 || !a.groups.every((g) => str(g, 0, 256)))) return 'bad_actor';
  if (has(r, 'target') && (!obj(r.target) || !str(r.target.type, 1, 256) || !str(r.target.id, 1, 256))) return 'bad_target';
  if (!obj(r.annotations) || Object.keys(r.annotations).length > 64 || !Object.entries(r.annotations).every(([k, v]) => str(k, 1, 128) && str(v, 0, 4096))) return 'bad_annotations';
  const attrOk = (v) => ['string', 'number', 'boolean'].includes(typeof v) || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
  if (!obj(r.attributes) || Object.keys(r.attributes).length > 128 || !Object.values(r.attributes).every(attrOk)) return 'bad_attributes';
  if (has(r, 'request_id') && !str(r.request_id, 1, 256)) return 'bad_request_id';
  if (has(r, 'trace_id') && !(typeof r.trace_id === 'string' && /^[0-9a-f]{32}$/.test(r.trace_id) && !/^0+$/.test(r.trace_id))) return 'bad_trace_id';
  if (has(r, 'span_id') && !(typeof r.span_id === 'string' && /^[0-9a-f]{16}$/.test(r.span_id) && !/^0+$/.test(r.span_id))) return 'bad_span_id';
  if (has(r, 'body')) {
    if (!obj(r.body)) return 'bad_body';
    for (const part of ['request', 'response']) {
      if (!has(r.body, part)) continue;
      const b = r.body[part];
      if (!obj(b) || !Number.isSafeInteger(b.size) || b.size < 0 || typeof b.digest !== 'string' || !/^[0-9a-f]{64}$/.test(b.digest)) return 'bad_body';
      if (typeof b.truncated !== 'boolean' || !['json', 'utf8', 'base64'].includes(b.encoding) || !has(b, 'content')) return 'bad_body';
    }
  }
  return null;
}

// ---- tamper cases --------------------------------------------------------------------------
const A = logA.records.map((r) => r.record);
const B = logB.records.map((r) => r.record);

function flipByte(text, index, mask = 0x20) {
  const bytes = Buffer.from(text, 'utf8');
  bytes[index] ^= mask;
  return bytes.toString('utf8');
}
const actionValueAt = (text) => text.indexOf('"action":"') + '"action":"'.length;

function forged(seq, prev, action) {
  return recordText({ id: '019ac3f0-ffff-7000-8000-00000000f00d', time: '2026-11-27T06:01:08.600Z', action, outcome: 'success', actor: { id: 'mallory', type: 'user' } }, seq, prev);
}

function rechained(events, origin) {
  return buildLog(origin, events).records.map((r) => r.record);
}

function badSignature(note) {
  const line = note.slice(note.lastIndexOf('\n\n') + 2, -1);
  const [, name, sigB64] = /^\u2014 (\S+) (\S+)$/.exec(line);
  const raw = new Uint8Array(Buffer.from(sigB64, 'base64'));
  raw[4 + 10] ^= 0x01;
  return `${note.slice(0, note.lastIndexOf('\n\n') + 2)}\u2014 ${name} ${b64(raw)}\n`;
}

const base = { origin: ORIGIN_A, checkpoint: noteA, keys: [keyA.vkey] };

// A log A whose record 2 is `change(record 2 object)`, chained and signed as the engine would:
// the chain, the tree and the signature are all good, so only the member rules can object.
function signedVariant(change) {
  const objects = A.map((r) => JSON.parse(r));
  const out = [];
  let prev = hex(genesisLink(ORIGIN_A));
  const leaves = [];
  for (const [seq, o] of objects.entries()) {
    const { seq: _s, prev: _p, ...rest } = o;
    const text = jcs({ ...(seq === 2 ? change(rest) : rest), seq, prev });
    const bytes = utf8.encode(text);
    out.push(text);
    leaves.push(leafHash(bytes));
    prev = hex(recordHash(bytes));
  }
  const checkpoint = signedNote(checkpointText(ORIGIN_A, out.length, merkleRoot(leaves), CP_TIME), [keyA]);
  return { records: out, checkpoint };
}
const without = (o, k) => {
  const { [k]: _drop, ...rest } = o;
  return rest;
};

// One case per MUST of §2.2 that has its own reason (v, seq and prev have theirs: bad-version, bad_seq, chain_broken).
const FIELD_CASES = [
  ['field-version-string', 'Record 2 says "v":"1" (a string, not the number 1).', (r) => ({ ...r, v: '1' }), 'bad_version'],
  ['field-id-empty', 'Record 2 has "id":"" (1–128 characters required).', (r) => ({ ...r, id: '' }), 'bad_id'],
  ['field-id-too-long', 'Record 2 has an id of 129 characters.', (r) => ({ ...r, id: 'i'.repeat(129) }), 'bad_id'],
  ['field-time-without-milliseconds', 'Record 2 has "time":"2026-11-27T06:01:08Z": no milliseconds.', (r) => ({ ...r, time: '2026-11-27T06:01:08Z' }), 'bad_time'],
  ['field-time-with-offset', 'Record 2 has a time with a +01:00 offset instead of Z.', (r) => ({ ...r, time: '2026-11-27T07:01:08.500+01:00' }), 'bad_time'],
  ['field-time-impossible-date', 'Record 2 has "time":"2026-02-30T06:01:08.500Z", which has the right shape but is no date.', (r) => ({ ...r, time: '2026-02-30T06:01:08.500Z' }), 'bad_time'],
  ['field-time-missing', 'Record 2 has no time member.', (r) => without(r, 'time'), 'bad_time'],
  ['field-action-empty', 'Record 2 has "action":"".', (r) => ({ ...r, action: '' }), 'bad_action'],
  ['field-outcome-maybe', 'Record 2 has "outcome":"maybe": not success, failure or aborted.', (r) => ({ ...r, outcome: 'maybe' }), 'bad_outcome'],
  ['field-actor-missing', 'Record 2 has no actor member (no actor known is {"id":"anonymous","type":"anonymous"}).', (r) => without(r, 'actor'), 'bad_actor'],
  ['field-actor-without-type', 'Record 2 has "actor":{"id":"u-42"}.', (r) => ({ ...r, actor: { id: 'u-42' } }), 'bad_actor'],
  ['field-actor-groups-not-strings', 'Record 2 has actor.groups [1].', (r) => ({ ...r, actor: { ...r.actor, groups: [1] } }), 'bad_actor'],
  ['field-target-null', 'Record 2 has "target":null (optional members are omitted, never null).', (r) => ({ ...r, target: null }), 'bad_target'],
  ['field-target-without-id', 'Record 2 has "target":{"type":"user"}.', (r) => ({ ...r, target: { type: 'user' } }), 'bad_target'],
  ['field-annotations-missing', 'Record 2 has no annotations member (an empty one is {}).', (r) => without(r, 'annotations'), 'bad_annotations'],
  ['field-annotations-number-value', 'Record 2 has an annotation whose value is the number 1.', (r) => ({ ...r, annotations: { reason: 1 } }), 'bad_annotations'],
  ['field-attributes-missing', 'Record 2 has no attributes member.', (r) => without(r, 'attributes'), 'bad_attributes'],
  ['field-attributes-object-value', 'Record 2 has an attribute whose value is an object.', (r) => ({ ...r, attributes: { 'http.route': { a: 1 } } }), 'bad_attributes'],
  ['field-request-id-null', 'Record 2 has "request_id":null.', (r) => ({ ...r, request_id: null }), 'bad_request_id'],
  ['field-trace-id-uppercase', 'Record 2 has an uppercase trace_id.', (r) => ({ ...r, trace_id: '4BF92F3577B34DA6A3CE929D0E0E4736' }), 'bad_trace_id'],
  ['field-span-id-all-zero', 'Record 2 has "span_id":"0000000000000000".', (r) => ({ ...r, span_id: '0000000000000000' }), 'bad_span_id'],
  ['field-body-short-digest', 'Record 2 has a captured request body whose digest is 63 hex characters.', (r) => ({ ...r, body: { request: { ...capturedJsonBody('{"a":1}'), digest: 'a'.repeat(63) } } }), 'bad_body'],
  ['field-body-unknown-encoding', 'Record 2 has a captured request body with "encoding":"gzip".', (r) => ({ ...r, body: { request: { ...capturedJsonBody('{"a":1}'), encoding: 'gzip' } } }), 'bad_body'],
];
const TAMPER = [
  {
    name: 'byte-flip-in-value',
    description: 'One bit flipped (0x20) in the first byte of record 2\'s action value ("user.delete" → "User.delete"): record 2 is still canonical with a good prev, so the first failure is record 3, whose prev no longer matches H(record 2).',
    records: A.map((r, i) => (i === 2 ? flipByte(r, actionValueAt(r)) : r)),
    expected: { reason: 'chain_broken', seq: 3 },
  },
  {
    name: 'byte-flip-in-syntax',
    description: 'One bit flipped (0x20) in the first byte of record 2 ("{" → "["): the bytes are not JSON.',
    records: A.map((r, i) => (i === 2 ? flipByte(r, 0) : r)),
    expected: { reason: 'not_canonical', seq: 2 },
  },
  {
    name: 'byte-flip-in-last-record',
    description: 'One bit flipped in the action value of the last record (4): no later record links to it, so only the tree root shows it.',
    records: A.map((r, i) => (i === 4 ? flipByte(r, actionValueAt(r)) : r)),
    expected: { reason: 'root_mismatch', seq: null },
  },
  {
    name: 'record-deleted',
    description: 'Record 2 removed: position 2 holds a record that says seq 3.',
    records: A.filter((_, i) => i !== 2),
    expected: { reason: 'bad_seq', seq: 2 },
  },
  {
    name: 'records-swapped',
    description: 'Records 1 and 2 swapped: position 1 holds a record that says seq 2.',
    records: [A[0], A[2], A[1], A[3], A[4]],
    expected: { reason: 'bad_seq', seq: 1 },
  },
  {
    name: 'record-duplicated',
    description: 'Record 2 written twice: position 3 holds a record that says seq 2.',
    records: [A[0], A[1], A[2], A[2], A[3], A[4]],
    expected: { reason: 'bad_seq', seq: 3 },
  },
  {
    name: 'record-inserted',
    description: 'A forged record with seq 2 and a correct prev (H(record 1)) inserted before record 2: position 3 holds the original record 2, which says seq 2.',
    records: [A[0], A[1], forged(2, logA.records[2].prev, 'user.promote'), A[2], A[3], A[4]],
    expected: { reason: 'bad_seq', seq: 3 },
  },
  {
    name: 'record-inserted-rechained',
    description: 'A forged record inserted at 2 and every later record renumbered and re-linked (a rewrite without the signing key): seq and chain are consistent, only the signed root differs.',
    records: rechained([...CHAIN_EVENTS.slice(0, 2), { id: '019ac3f0-ffff-7000-8000-00000000f00d', time: '2026-11-27T06:01:08.600Z', action: 'user.promote', outcome: 'success', actor: { id: 'mallory', type: 'user' } }, ...CHAIN_EVENTS.slice(2)], ORIGIN_A),
    expected: { reason: 'root_mismatch', seq: null },
  },
  {
    name: 'truncated',
    description: 'The tail (records 3 and 4) cut off while the checkpoint still says size 5: the first missing record is 3.',
    records: A.slice(0, 3),
    expected: { reason: 'truncated', seq: 3 },
  },
  {
    name: 'not-canonical-whitespace',
    description: 'Record 1 with one space added after the first colon: valid JSON, same value, not the canonical bytes.',
    records: A.map((r, i) => (i === 1 ? r.replace('":', '": ') : r)),
    expected: { reason: 'not_canonical', seq: 1 },
  },
  {
    name: 'not-an-object',
    description: 'Record 2 replaced by the canonical JSON `null`: canonical, but not the canonical form of a record object (§2.1).',
    records: A.map((r, i) => (i === 2 ? 'null' : r)),
    expected: { reason: 'not_canonical', seq: 2 },
  },
  {
    name: 'bad-version',
    description: 'Record 4 rewritten with "v":2 (still canonical, prev unchanged): the version check comes before the chain check.',
    records: A.map((r, i) => (i === 4 ? jcs({ ...JSON.parse(r), v: 2 }) : r)),
    expected: { reason: 'bad_version', seq: 4 },
  },
  {
    name: 'checkpoint-unknown-key',
    description: 'The checkpoint is signed under the log\'s key name by a key that is not the trusted one: the signature is ignored (unknown key ID), so no trusted key signed.',
    checkpoint: signedNote(textA, [keyUnknown]),
    expected: { reason: 'signature_invalid', seq: null },
  },
  {
    name: 'checkpoint-bad-signature',
    description: 'One bit flipped in the trusted key\'s signature: a trusted key whose signature fails rejects the note.',
    checkpoint: badSignature(noteA),
    expected: { reason: 'signature_invalid', seq: null },
  },
  {
    name: 'checkpoint-signed-by-another-logs-key',
    description: 'Log A\'s checkpoint signed only by log B\'s key, which the verifier also trusts (for log B): the signature is valid, but a key named for another log never counts for this one (§6), so no key of log A signed.',
    checkpoint: signedNote(textA, [keyB]),
    keys: [keyA.vkey, keyB.vkey],
    expected: { reason: 'signature_invalid', seq: null },
  },
  {
    name: 'checkpoint-other-log',
    description: 'Log A\'s records checked against log B\'s checkpoint, signed by log B\'s key, which the verifier also trusts: the signature verifies but the origin is not log A\'s.',
    checkpoint: noteB,
    keys: [keyA.vkey, keyB.vkey],
    expected: { reason: 'origin_mismatch', seq: null },
  },
  ...FIELD_CASES.map(([name, description, change, reason]) => ({
    name,
    description: `${description} The log is re-chained and its checkpoint re-signed by the trusted key, so only the member rule of §2.2 fails.`,
    ...signedVariant(change),
    expected: { reason, seq: 2 },
  })),
  {
    name: 'splice-of-two-logs',
    description: 'Records 0–2 of log A followed by records 3–4 of log B (a different origin and history): record 3 says seq 3, but its prev is H(B\'s record 2), not H(A\'s record 2).',
    records: [...A.slice(0, 3), ...B.slice(3)],
    expected: { reason: 'chain_broken', seq: 3 },
  },
];

// Records that look unusual but keep every rule of §2.2: a verifier MUST accept them.
const ACCEPTED = [
  ['unknown-members', 'Record 2 carries unknown members at the top level and inside actor, target and a captured body (forward compatibility).', (r) => ({ ...r, x_future: { any: [1, null] }, actor: { ...r.actor, x_future: true }, target: { ...r.target, x_future: 1 }, body: { request: { ...capturedJsonBody('{"a":1}'), x_future: 'y' } } })],
  ['limits-exactly', 'Record 2 at the limits: id of 128 characters, action of 256, an empty actor.name, 64 groups, annotation values of 4096 characters, an empty annotation value.', (r) => ({ ...r, id: 'i'.repeat(128), action: 'a'.repeat(256), actor: { ...r.actor, name: '', groups: Array.from({ length: 64 }, (_, i) => `g${i}`) }, annotations: { long: 'v'.repeat(4096), empty: '' } })],
  ['body-null-content', 'Record 2 has a captured body whose content is null (nothing kept) and whose encoding is base64.', (r) => ({ ...r, body: { response: { size: 10, digest: 'b'.repeat(64), truncated: true, encoding: 'base64', content: null } } })],
];

// ---- write -----------------------------------------------------------------------------------
const write = (name, value) => writeFileSync(new URL(name, OUT), `${JSON.stringify(value, null, 2)}\n`);
const SOURCE = 'packages/core/test/vectors/ron-audit/make-vectors.mjs (independent of the engine: hand-rolled RFC 8785, @noble/hashes, @noble/ed25519)';

check(verify({ ...base, records: A }).ok, 'log A does not verify');
check(verify({ origin: ORIGIN_B, records: B, checkpoint: noteB, keys: [keyB.vkey] }).ok, 'log B does not verify');

const PREV_FOR_SINGLES = hex(genesisLink(ORIGIN_A));
write('records.json', {
  description:
    'Events and the record each becomes (docs/format.md §2): `record` is the exact canonical JSON text (its bytes are UTF-8(record)), `hash` is H(record) = BLAKE3-keyed(K_CHAIN, bytes), `leafHash` is SHA-256(0x00 ‖ bytes). Each record is built at the given `seq` with the given `prev`. Events carry fixed `id` and `time`; the engine builds records from them with the default redaction (which touches none of these events).',
  source: SOURCE,
  cases: SINGLE_EVENTS.map(({ name, description, event }, i) => {
    const seq = i === 0 ? 0 : 1000 + i;
    const text = recordText(event, seq, PREV_FOR_SINGLES);
    const bytes = utf8.encode(text);
    return { name, description, seq, prev: PREV_FOR_SINGLES, event, record: text, bytes: bytes.length, hash: hex(recordHash(bytes)), leafHash: hex(leafHash(bytes)) };
  }),
});

write('chain.json', {
  description:
    'A 5-record log (docs/format.md §3, §4): genesis link G(origin), then per record its canonical text (bytes = UTF-8), prev, record hash, leaf hash and the RFC 6962 root of the tree after it. `events` are what the records were built from.',
  source: SOURCE,
  origin: ORIGIN_A,
  genesis: logA.genesis,
  emptyRoot: hex(EMPTY_ROOT),
  events: CHAIN_EVENTS,
  records: logA.records,
  head: logA.head,
  root: logA.root,
});

write('checkpoint.json', {
  description:
    'A fixed Ed25519 key for the log of chain.json, its verifier key and key ID (docs/format.md §6), the checkpoint text for the whole log (§5) and the exact signed note. The seed is SHA-256 of the `seedLabel` string; it is public: never use it for anything real.',
  source: SOURCE,
  origin: ORIGIN_A,
  seedLabel: `ron-audit format v1 test vector key: log A (public, never use for anything real)`,
  seed: hex(keyA.seed),
  publicKey: hex(keyA.publicKey),
  keyId: hex(keyA.keyId),
  vkey: keyA.vkey,
  size: logA.records.length,
  root: logA.root,
  time: CP_TIME,
  text: textA,
  note: noteA,
});

const TAMPER_DIR = new URL('tamper/', OUT);
mkdirSync(TAMPER_DIR, { recursive: true });
for (const f of readdirSync(TAMPER_DIR)) if (f.endsWith('.json')) rmSync(new URL(f, TAMPER_DIR));
for (const t of TAMPER) {
  const input = { ...base, records: t.records ?? A, ...(t.checkpoint ? { checkpoint: t.checkpoint } : {}), ...(t.keys ? { keys: t.keys } : {}) };
  const got = verify(input);
  check(!got.ok && got.reason === t.expected.reason && got.seq === t.expected.seq, `${t.name}: expected ${JSON.stringify(t.expected)}, the §8 verifier here says ${JSON.stringify(got)}`);
  write(`tamper/${t.name}.json`, {
    name: t.name,
    description: t.description,
    source: SOURCE,
    origin: input.origin,
    keys: input.keys,
    checkpoint: input.checkpoint,
    records: input.records,
    expected: { ok: false, failure: t.expected },
  });
}

const ACCEPTED_DIR = new URL('accepted/', OUT);
mkdirSync(ACCEPTED_DIR, { recursive: true });
for (const f of readdirSync(ACCEPTED_DIR)) if (f.endsWith('.json')) rmSync(new URL(f, ACCEPTED_DIR));
for (const [name, description, change] of ACCEPTED) {
  const v = signedVariant(change);
  const got = verify({ ...base, ...v });
  check(got.ok, `accepted/${name}: the §8 verifier here says ${JSON.stringify(got)}`);
  write(`accepted/${name}.json`, { name, description, source: SOURCE, origin: ORIGIN_A, keys: [keyA.vkey], checkpoint: v.checkpoint, records: v.records, expected: { ok: true, verified: v.records.length } });
}

console.log(`wrote records.json (${SINGLE_EVENTS.length} cases), chain.json (${A.length} records), checkpoint.json, tamper/ (${TAMPER.length} cases)`);
