import { describe, expect, it } from 'vitest';
import { isAuditError } from '../errors.js';
import { looksLikeKeyMaterial, looksLikePrivateKeyFile, quotedUnlessSecret } from './secret-text.js';

const SEED_B64 = '2sct2KkM4jhy+Tq7kuaw667FK+n5ZWOdpYOka4qlPLg=';
const KEY_FILE = `{"v":1,"alias":"a","algorithm":"ed25519","seed":"${SEED_B64}","public":"tQ+nIt+J/fnVlnBgg6mAhadzGt6AajcYQoqKitKDNxU="}`;

describe('looksLikeKeyMaterial', () => {
  it.each([
    ['a keystore key file', KEY_FILE],
    ['a key file cut short', KEY_FILE.slice(0, 60)],
    ['a base64 seed', SEED_B64],
    ['a base64 seed of one repeated byte (no digits)', 'BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc='],
    ['a URL-safe base64 seed', SEED_B64.replace(/\+/g, '-').replace(/\//g, '_')],
    ['a hex seed', 'ab'.repeat(32)],
    ['a seed inside other text', `key=${SEED_B64};`],
    ['a PEM private key', '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----'],
    ['JSON with a private key member', '{"private_key":"x"}'],
  ])('flags %s', (_n, text) => {
    expect(looksLikeKeyMaterial(text)).toBe(true);
    expect(quotedUnlessSecret(text)).toBe(`<${text.length} characters not shown: they look like key material>`);
  });

  it.each([
    ['a directory', '/var/lib/ron/audit/wal'],
    ['an alias', 'audit-2026-12'],
    ['an origin', 'audit.example.com/gw/1'],
    ['a number', '4096'],
    ['a short base64 word', 'aGVsbG8='],
    ['a long run of one letter', 'x'.repeat(256)],
    ['a long all-lowercase path', '/var/lib/ron/audit/exports/production-eu-west-primary-gateway'],
    ['empty', ''],
  ])('shows %s', (_n, text) => {
    expect(looksLikeKeyMaterial(text)).toBe(false);
    expect(quotedUnlessSecret(text, 1000)).toBe(JSON.stringify(text));
  });

  it('looksLikePrivateKeyFile tells a key file or PEM key from a bare seed', () => {
    expect(looksLikePrivateKeyFile(KEY_FILE)).toBe(true);
    expect(looksLikePrivateKeyFile('-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----')).toBe(true);
    expect(looksLikePrivateKeyFile(SEED_B64)).toBe(false);
    expect(looksLikePrivateKeyFile('audit.example.com/gw/1')).toBe(false);
  });

  it('cuts long ordinary text', () => {
    expect(quotedUnlessSecret('x '.repeat(100), 10)).toBe(JSON.stringify(`${'x '.repeat(5)}…`));
  });

  it('refuses what is not a string, and a bad length', () => {
    const refused = (call: () => unknown): boolean => {
      try {
        call();
      } catch (e) {
        return isAuditError(e, 'AUDIT_INVALID_ARGUMENT');
      }
      return false;
    };
    for (const bad of [undefined, null, 1, {}, ['x']]) {
      expect(refused(() => looksLikeKeyMaterial(bad as never))).toBe(true);
      expect(refused(() => quotedUnlessSecret(bad as never))).toBe(true);
      expect(refused(() => looksLikePrivateKeyFile(bad as never))).toBe(true);
    }
    for (const max of [0, -1, 1.5, Number.NaN]) expect(refused(() => quotedUnlessSecret('x', max))).toBe(true);
  });
});
