import { describe, expect, it } from 'vitest';
import { breadcrumb, encodePodPath, filePath, normaliseFolderInput, parentFolder } from '../src/api/paths.ts';
import { ApiError, apiErrorOf, asApiError } from '../src/api/problem.ts';
import { matchesAudit } from '../src/audit-filter.ts';

describe('console API paths', () => {
  it('encodes every segment, so a name cannot change the route', () => {
    expect(encodePodPath('a b/c?d#e/')).toBe('a%20b/c%3Fd%23e/');
    expect(filePath('alice', 'medical/lab 1.txt')).toBe('/v1/users/alice/files/medical/lab%201.txt');
    expect(filePath('../x', 'y')).toBe('/v1/users/..%2Fx/files/y');
  });

  it('normalises a folder typed by a person, refusing . and ..', () => {
    expect(normaliseFolderInput('/medical//2025')).toEqual({ folder: 'medical/2025/' });
    expect(normaliseFolderInput('/')).toEqual({ folder: '' });
    expect(normaliseFolderInput('a/../b')).toHaveProperty('error');
    expect(normaliseFolderInput('a/\u0001')).toHaveProperty('error');
  });

  it('walks folders up and builds the breadcrumb', () => {
    expect(parentFolder('a/b/')).toBe('a/');
    expect(parentFolder('a/')).toBe('');
    expect(breadcrumb('a/b/')).toEqual([
      { name: 'pod', folder: '' },
      { name: 'a', folder: 'a/' },
      { name: 'b', folder: 'a/b/' },
    ]);
  });
});

describe('console errors', () => {
  it('shows the problem detail, its code and the request id', () => {
    const error = apiErrorOf(
      403,
      '{"status":403,"detail":"sealed: written by hospital","code":"forbidden"}',
      'r-1',
    );
    expect([error.status, error.code, error.detail, error.requestId]).toEqual([
      403,
      'forbidden',
      'sealed: written by hospital',
      'r-1',
    ]);
  });

  it('explains an answer that is not problem+json, and a network failure', () => {
    expect(apiErrorOf(502, '<html>bad gateway</html>', null).detail).toBe('the server answered 502');
    const offline = asApiError(new TypeError('Failed to fetch'));
    expect(offline).toBeInstanceOf(ApiError);
    expect(offline.status).toBe(0);
  });
});

describe('the audit filter', () => {
  const entry = {
    time: '2026-01-01T00:00:00Z',
    actor: 'hospital',
    action: 'files.put',
    path: 'medical/r.txt',
    outcome: 'allowed',
  };
  it('filters by actor, outcome and text', () => {
    expect(matchesAudit(entry, { actor: 'hosp', outcome: 'all', text: '' })).toBe(true);
    expect(matchesAudit(entry, { actor: 'lab', outcome: 'all', text: '' })).toBe(false);
    expect(matchesAudit(entry, { actor: '', outcome: 'refused', text: '' })).toBe(false);
    expect(
      matchesAudit({ ...entry, outcome: 'forbidden' }, { actor: '', outcome: 'refused', text: '' }),
    ).toBe(true);
    expect(matchesAudit(entry, { actor: '', outcome: 'all', text: 'medical' })).toBe(true);
    expect(matchesAudit(entry, { actor: '', outcome: 'all', text: 'delete' })).toBe(false);
  });
});
