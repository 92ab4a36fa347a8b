import { readFileSync } from 'node:fs';
import { describe as group, expect, it } from 'vitest';
import { AuditError, ERROR_CODES, describe, invalidArgument, isAuditError } from './errors.js';
import { VERIFY_FAILURE_REASONS } from './log/memory.js';
import { createAudit } from './create-audit.js';
import { localSigner } from './sign/signer.js';
import { verifyLog } from './verify/verify.js';
import { FIELD_FAILURE_REASONS } from './verify/fields.js';
import { LANE_SET_FAILURE_REASONS } from './verify/lanes.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

/** The first-column backticked names of the table under the `## <heading>` section. */
function tableNames(heading: string): string[] {
  const start = doc.indexOf(`\n## ${heading}\n`);
  expect(start, `docs/errors.md has a "## ${heading}" section`).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end < 0 ? undefined : end);
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  for (const row of rows) expect(row.split(' | ').length, `four columns in: ${row}`).toBe(4);
  return rows.map((l) => /^\| `([^`]+)` \|/.exec(l)![1]!);
}

group('docs/errors.md', () => {
  it('lists exactly the codes of ERROR_CODES, each once', () => {
    const names = tableNames('Error codes');
    expect(names.length).toBe(new Set(names).size);
    expect([...names].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('lists exactly the verification failure reasons, each once', () => {
    const names = tableNames('Verification failure reasons');
    expect(names.length).toBe(new Set(names).size);
    // verifyLog reports two reasons of its own besides the shared VERIFY_FAILURE_REASONS.
    expect([...names].sort()).toEqual([...VERIFY_FAILURE_REASONS, 'malformed_checkpoint', 'truncated'].sort());
  });

  it('lists exactly the record field reasons of format §2.2, each once', () => {
    const names = tableNames('Record field reasons');
    expect(names.length).toBe(new Set(names).size);
    expect([...names].sort()).toEqual([...FIELD_FAILURE_REASONS].sort());
  });

  it('lists exactly the lane set reasons, each once', () => {
    const names = tableNames('Lane set reasons');
    expect(names.length).toBe(new Set(names).size);
    expect([...names].sort()).toEqual([...LANE_SET_FAILURE_REASONS].sort());
  });

  it('the two reasons only verifyLog reports are the ones it really reports', async () => {
    const engine = createAudit({ env: {}, origin: 'a.example/log', signer: localSigner('k', new Uint8Array(32).fill(1)), queueDepth: 2 });
    await engine.ready();
    engine.emit({ action: 'a', outcome: 'success' });
    await engine.flush();
    const snap = engine.snapshot();
    await engine.close();
    const base = { origin: snap.origin, keys: [snap.verifierKey] };
    expect(verifyLog({ ...base, records: snap.records, checkpoint: snap.checkpoint! }).ok).toBe(true);
    expect(verifyLog({ ...base, records: [], checkpoint: snap.checkpoint! }).failure?.reason).toBe('truncated');
    expect(verifyLog({ ...base, records: snap.records, checkpoint: 'not a note' }).failure?.reason).toBe('malformed_checkpoint');
  });
});

group('AuditError', () => {
  it('is an Error with a stable code, a name and details', () => {
    const err = new AuditError('AUDIT_QUEUE_FULL', 'full', { retryAfterSeconds: 1 });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AuditError');
    expect(err.code).toBe('AUDIT_QUEUE_FULL');
    expect(err.details).toEqual({ retryAfterSeconds: 1 });
    expect(err.stack).toContain('errors.test.ts');
    expect(new AuditError('AUDIT_CLOSED', 'x').details).toEqual({});
  });

  it('isAuditError matches by class and, when given, by code', () => {
    const err = new AuditError('AUDIT_CLOSED', 'closed');
    expect(isAuditError(err)).toBe(true);
    expect(isAuditError(err, 'AUDIT_CLOSED')).toBe(true);
    expect(isAuditError(err, 'AUDIT_NOT_READY')).toBe(false);
    expect(isAuditError(new Error('x'))).toBe(false);
    expect(isAuditError({ code: 'AUDIT_CLOSED' })).toBe(false);
  });

  it('every code has a one-sentence description in the catalogue', () => {
    for (const [code, text] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^AUDIT_[A-Z_]+$/);
      expect(text.length).toBeGreaterThan(20);
    }
  });
});

group('error messages describe values without echoing them', () => {
  it.each([
    [null, 'null'],
    [undefined, 'undefined'],
    [5, 'number 5'],
    [Number.NaN, 'number NaN'],
    [true, 'boolean true'],
    [10n, 'bigint 10'],
    ['short', '"short"'],
    ['x'.repeat(41), 'string(41)'],
    [[1, 2, 3], 'array(3)'],
    [new Uint8Array(7), 'Uint8Array(7)'],
    [{ password: 'hunter2' }, 'object'],
    [() => 1, 'function'],
    [Symbol('s'), 'symbol'],
  ])('describe(%o) = %s', (value, text) => {
    expect(describe(value)).toBe(text);
  });

  it('invalidArgument names the argument, what was expected and what was received', () => {
    const err = invalidArgument('range.from', 'a seq ≥ 0', -1);
    expect(err.code).toBe('AUDIT_INVALID_ARGUMENT');
    expect(err.message).toBe('range.from: expected a seq ≥ 0, received number -1');
    expect(err.details).toEqual({ argument: 'range.from' });
  });
});
