import { describe, expect, it } from 'vitest';
import {
  decide,
  type GrantEntry,
  isSealed,
  type Mode,
  mayGrant,
  modesAt,
  type Operation,
  precheck,
  scopeCovers,
} from '../../worker/access/access-policy.ts';

const now = new Date('2026-06-01T00:00:00Z');

describe('scopes', () => {
  it.each([
    ['/', 'a.txt', true],
    ['/medical/', 'medical/lab.pdf', true],
    ['/medical/', 'medical/2025/lab.pdf', true],
    ['/medical/', 'medicalx/lab.pdf', false],
    ['/medical/', 'other/lab.pdf', false],
    ['/medical/', 'medical', false],
  ])('%s covers %s: %s', (scope, path, expected) => expect(scopeCovers(scope, path)).toBe(expected));

  it('adds up modes of every unexpired entry covering a path', () => {
    const entries: GrantEntry[] = [
      { scope: '/medical/', modes: ['append'] },
      { scope: '/medical/2025/', modes: ['read'] },
      { scope: '/', modes: ['delete'], expiresAt: '2026-05-01T00:00:00Z' },
    ];
    expect([...modesAt(entries, 'medical/2025/a.pdf', now)].sort()).toEqual(['append', 'read']);
    expect([...modesAt(entries, 'medical/a.pdf', now)]).toEqual(['append']);
    expect([...modesAt(entries, 'notes.txt', now)]).toEqual([]);
    expect([...modesAt(entries, 'medical/2025/', now)].sort()).toEqual(['append', 'read']);
  });
});

/** Every mode × operation for a grantee, on a file that exists (authored by the owner) or not. */
describe('decide for a grantee in scope', () => {
  const expected: Record<Mode, Record<Operation, [string, string]>> = {
    // [file exists, file absent]: allow / not_found / forbidden
    read: {
      read: ['allow', 'allow'],
      'write-file': ['forbidden', 'forbidden'],
      patch: ['forbidden', 'forbidden'],
      delete: ['forbidden', 'forbidden'],
    },
    append: {
      read: ['not_found', 'not_found'],
      'write-file': ['forbidden', 'allow'],
      patch: ['forbidden', 'forbidden'],
      delete: ['forbidden', 'forbidden'],
    },
    write: {
      read: ['not_found', 'not_found'],
      'write-file': ['allow', 'allow'],
      patch: ['allow', 'allow'],
      delete: ['forbidden', 'forbidden'],
    },
    delete: {
      read: ['not_found', 'not_found'],
      'write-file': ['forbidden', 'forbidden'],
      patch: ['forbidden', 'forbidden'],
      delete: ['allow', 'allow'],
    },
    control: {
      read: ['not_found', 'not_found'],
      'write-file': ['forbidden', 'forbidden'],
      patch: ['forbidden', 'forbidden'],
      delete: ['forbidden', 'forbidden'],
    },
  };
  const outcome = (d: ReturnType<typeof decide>) => (d.allow ? 'allow' : d.as);
  for (const mode of Object.keys(expected) as Mode[]) {
    for (const operation of Object.keys(expected[mode]) as Operation[]) {
      it(`${mode} × ${operation}`, () => {
        const modes = new Set<Mode>([mode]);
        const [whenExists, whenAbsent] = expected[mode][operation];
        expect(outcome(decide(operation, 'patient', modes, { exists: true, author: 'patient' }))).toBe(
          whenExists,
        );
        expect(outcome(decide(operation, 'patient', modes, { exists: false, author: null }))).toBe(
          whenAbsent,
        );
        // The precheck, before existence is known, never allows less than the decision
        if (whenExists === 'allow' || whenAbsent === 'allow')
          expect(precheck(operation, modes).allow).toBe(true);
      });
    }
  }
});

describe('sealed files', () => {
  it('are the ones written by someone other than the owner', () => {
    expect(isSealed('patient', 'hospital')).toBe(true);
    expect(isSealed('patient', 'patient')).toBe(false);
    expect(isSealed('patient', null)).toBe(false);
  });
  it('cannot be overwritten or patched by anyone, owner included, but the owner reads and deletes them', () => {
    const sealed = { exists: true, author: 'hospital' };
    expect(decide('write-file', 'patient', null, sealed)).toMatchObject({
      allow: false,
      as: 'forbidden',
      reason: /sealed/,
    });
    expect(decide('patch', 'patient', null, sealed)).toMatchObject({ allow: false, as: 'forbidden' });
    expect(decide('write-file', 'patient', new Set<Mode>(['write']), sealed)).toMatchObject({ allow: false });
    expect(decide('read', 'patient', null, sealed).allow).toBe(true);
    expect(decide('delete', 'patient', null, sealed).allow).toBe(true);
  });
});

describe('granting', () => {
  const holder: GrantEntry[] = [{ scope: '/medical/', modes: ['read', 'append', 'control'] }];
  it('lets the owner grant anything', () =>
    expect(mayGrant(null, '/', ['write', 'control'], now).allow).toBe(true));
  it('lets a control holder over the whole pod grant over the whole pod', () => {
    expect(mayGrant([{ scope: '/', modes: ['read', 'control'] }], '/', ['read'], now).allow).toBe(true);
  });
  it('lets a control holder grant modes it holds, within its scope', () => {
    expect(mayGrant(holder, '/medical/2025/', ['read'], now).allow).toBe(true);
    expect(mayGrant(holder, '/medical/', ['append', 'control'], now).allow).toBe(true);
  });
  it('refuses modes it does not hold, and scopes outside its own', () => {
    expect(mayGrant(holder, '/medical/', ['write'], now)).toMatchObject({ allow: false, reason: /write/ });
    expect(mayGrant(holder, '/', ['read'], now)).toMatchObject({ allow: false, reason: /control/ });
    expect(mayGrant(holder, '/other/', ['read'], now).allow).toBe(false);
  });
});
