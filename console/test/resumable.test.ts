import { describe, expect, it } from 'vitest';
import { PROBLEM_CODES } from '../../protocol/problem-types.ts';
import { RESUMABLE_MIN_BYTES as CLI_MIN_BYTES } from '../../protocol/resumable-upload.ts';
import { ApiError } from '../src/api/problem.ts';
import {
  checkSameOrigin,
  creationCondition,
  ForeignUploadUrlError,
  goesResumably,
  RESUMABLE_MIN_BYTES,
  resumableError,
  shouldRetryResumable,
  type TusFailure,
  uploadsEndpoint,
} from '../src/api/resumable.ts';

const PAGE = 'https://pod.example/';

/** A problem document of `code`, as the api sends it. */
const problem = (code: keyof typeof PROBLEM_CODES) =>
  JSON.stringify({ status: PROBLEM_CODES[code].status, code, detail: `${code} happened` });

/** A failure as tus-js-client reports it: with the server's answer, or none (the connection dropped). */
function failure(
  status: number | null,
  body = '',
  headers: Record<string, string> = {},
  causingError: Error | null = null,
  method = 'PATCH',
): TusFailure {
  return {
    message: 'tus: failed',
    causingError,
    originalRequest: { getMethod: () => method },
    originalResponse:
      status === null
        ? null
        : { getStatus: () => status, getBody: () => body, getHeader: (name) => headers[name.toLowerCase()] },
  };
}

describe('console resumable uploads', () => {
  it('sends 16 MiB or more with tus, as the CLI does, and less in one PUT', () => {
    expect(RESUMABLE_MIN_BYTES).toBe(CLI_MIN_BYTES);
    expect(RESUMABLE_MIN_BYTES).toBe(16 * 1024 * 1024);
    expect(goesResumably(RESUMABLE_MIN_BYTES - 1)).toBe(false);
    expect(goesResumably(RESUMABLE_MIN_BYTES)).toBe(true);
    expect(goesResumably(20 * 2 ** 20)).toBe(true);
  });

  it('aims at the pod’s tus endpoint on the page’s origin, its owner encoded', () => {
    expect(uploadsEndpoint('alice', 'https://pod.example/some/page?x=1')).toBe(
      'https://pod.example/v1/users/alice/uploads/',
    );
    expect(uploadsEndpoint('../x', PAGE)).toBe('https://pod.example/v1/users/..%2Fx/uploads/');
  });

  it('lets requests go to the page’s origin only', () => {
    expect(() => checkSameOrigin('https://pod.example/v1/users/a/uploads/1', PAGE)).not.toThrow();
    expect(() => checkSameOrigin('/v1/users/a/uploads/1', PAGE)).not.toThrow();
    for (const url of [
      'https://evil.example/v1/users/a/uploads/1',
      'http://pod.example/v1/users/a/uploads/1', // another scheme
      'https://pod.example:8443/v1/users/a/uploads/1', // another port
      '//evil.example/x', // protocol-relative
      'https://pod.example.evil.example/x',
      'javascript:alert(1)',
      'http://[::1',
    ])
      expect(() => checkSameOrigin(url, PAGE), url).toThrow(ForeignUploadUrlError);
  });

  it('retries a dropped connection, a retryable problem, an offset conflict; never a refusal', () => {
    expect(shouldRetryResumable(failure(null), true)).toBe(true);
    expect(shouldRetryResumable(failure(0), true)).toBe(true);
    for (const code of ['unavailable', 'storage_unavailable', 'bad_gateway', 'timeout', 'throttled'] as const)
      expect(shouldRetryResumable(failure(PROBLEM_CODES[code].status, problem(code)), true), code).toBe(true);
    // Without a problem document (a proxy's page): any 5xx, 408, 429.
    for (const status of [500, 502, 503, 504, 408, 429])
      expect(shouldRetryResumable(failure(status, '<html>busy</html>'), true), String(status)).toBe(true);
    // The offset moved under a PATCH (or a HEAD): the retry asks where the server is.
    expect(shouldRetryResumable(failure(409, problem('conflict'), {}, null, 'PATCH'), true)).toBe(true);
    expect(shouldRetryResumable(failure(423, '', {}, null, 'PATCH'), true)).toBe(true);
    // A creation refused for a conflict (too many unfinished uploads, a folder of that name): final.
    expect(shouldRetryResumable(failure(409, problem('conflict'), {}, null, 'POST'), true)).toBe(false);
    for (const code of [
      'invalid',
      'forbidden',
      'not_found',
      'too_large',
      'internal',
      'quota_exceeded',
    ] as const)
      expect(shouldRetryResumable(failure(PROBLEM_CODES[code].status, problem(code)), true), code).toBe(
        false,
      );
    for (const status of [400, 403, 404, 412, 413, 415, 460])
      expect(shouldRetryResumable(failure(status), true), String(status)).toBe(false);
    // Offline: tus would only fail again; the error is shown instead.
    expect(shouldRetryResumable(failure(503, problem('unavailable')), false)).toBe(false);
    expect(shouldRetryResumable(failure(null), false)).toBe(false);
    const foreign = new ForeignUploadUrlError('https://evil.example/u');
    expect(shouldRetryResumable(failure(null, '', {}, foreign), true)).toBe(false);
  });

  it('shows a failure as every refusal: the problem’s detail and the request id', () => {
    const problem = JSON.stringify({
      type: 'urn:podstore:problem:forbidden',
      title: 'Forbidden',
      status: 403,
      detail: 'append access creates new files only; this one exists',
      code: 'forbidden',
    });
    const error = resumableError(failure(403, problem, { 'x-request-id': 'req-7' }));
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 403,
      code: 'forbidden',
      detail: 'append access creates new files only; this one exists',
      requestId: 'req-7',
    });
    // A HEAD's answer has no body: the status says enough.
    expect(resumableError(failure(404))).toMatchObject({ status: 404, detail: 'the server answered 404' });
    expect(resumableError(failure(null))).toMatchObject({ status: 0, code: 'network' });
    const foreign = resumableError(
      failure(null, '', {}, new ForeignUploadUrlError('https://evil.example/u/1')),
    );
    expect(foreign).toMatchObject({ status: 0, code: 'foreign_upload_url' });
    expect(foreign.detail).toContain('https://evil.example');
    // The refused URL's path (an upload id) is not repeated, only its origin.
    expect(foreign.detail).not.toContain('/u/1');
  });
});

describe('the creation of a resumable upload', () => {
  it('creates only (If-None-Match: *) unless the user chose to replace, and only on the creation', () => {
    expect(creationCondition('POST', false)).toEqual({ 'If-None-Match': '*' });
    expect(creationCondition('post', false)).toEqual({ 'If-None-Match': '*' });
    expect(creationCondition('POST', true)).toEqual({});
    for (const method of ['PATCH', 'HEAD', 'DELETE']) expect(creationCondition(method, false)).toEqual({});
  });
});
