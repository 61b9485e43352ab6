/**
 * Problem types: every error answer names a stable type (`urn:podstore:problem:<code>`) and code, the
 * worker's error codes map to the right status and type, every code is documented, and the SDK's error
 * exposes the code and whether a retry may help.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { fromBrokerError, fromOutcomeError, HttpProblem, problem, refusalStatus } from '../../api/problem.ts';
import { PodstoreError } from '../../client/sdk.ts';
import { ErrorCode } from '../../protocol/outcome.ts';
import {
  codeOfStatus,
  PROBLEM_CODES,
  type ProblemCode,
  problemTypeUri,
} from '../../protocol/problem-types.ts';
import { appWithBroker } from '../helpers/app-with-broker.ts';

describe('problem types', () => {
  it('a problem document names its type and code', () => {
    expect(problem(404, 'no file a.txt')).toEqual({
      type: 'urn:podstore:problem:not_found',
      title: 'Not Found',
      status: 404,
      detail: 'no file a.txt',
      code: 'not_found',
    });
    expect(problem(503, 'down', 'storage_unavailable').type).toBe('urn:podstore:problem:storage_unavailable');
  });

  it('each status has its usual code; codes are unique per type URI', () => {
    expect(
      [400, 401, 403, 404, 409, 412, 413, 429, 500, 503, 504, 507].map((s) => [s, codeOfStatus(s)]),
    ).toEqual([
      [400, 'invalid'],
      [401, 'unauthenticated'],
      [403, 'forbidden'],
      [404, 'not_found'],
      [409, 'conflict'],
      [412, 'precondition_failed'],
      [413, 'too_large'],
      [429, 'throttled'],
      [500, 'internal'],
      [503, 'unavailable'],
      [504, 'timeout'],
      [507, 'quota_exceeded'],
    ]);
    const uris = (Object.keys(PROBLEM_CODES) as ProblemCode[]).map(problemTypeUri);
    expect(new Set(uris).size).toBe(uris.length);
  });

  it('maps every worker error code to a status and a type, a storage outage to 503 storage_unavailable', () => {
    for (const code of Object.values(ErrorCode)) {
      const answer = fromOutcomeError({ code, detail: 'x' });
      expect(answer.status, code).toBeGreaterThanOrEqual(400);
      expect(PROBLEM_CODES[answer.code], code).toBeDefined();
    }
    const outage = fromOutcomeError({ code: ErrorCode.STORAGE_UNAVAILABLE, detail: 'the store is down' });
    expect([outage.status, outage.code, outage.retryAfter]).toEqual([503, 'storage_unavailable', 1]);
    const quota = fromOutcomeError({ code: ErrorCode.QUOTA_EXCEEDED, detail: 'full' });
    expect([quota.status, quota.code]).toEqual([507, 'quota_exceeded']);
    expect(fromBrokerError({ code: 'throttled' } as never).code).toBe('throttled');
    expect(new HttpProblem(401, 'who are you').code).toBe('unauthenticated');
  });

  it('every code is documented in docs/api.md', async () => {
    const doc = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8');
    for (const code of Object.keys(PROBLEM_CODES)) expect(doc, code).toContain(`| \`${code}\` |`);
  });
});

describe('the SDK error', () => {
  it('exposes the code and whether a retry may help', () => {
    const gone = new PodstoreError(
      503,
      {
        type: problemTypeUri('storage_unavailable'),
        title: 'x',
        status: 503,
        detail: 'down',
        code: 'storage_unavailable',
      },
      'req-1',
      '2',
    );
    expect([gone.code, gone.retryable, gone.retryAfterS, gone.message]).toEqual([
      'storage_unavailable',
      true,
      2,
      'down',
    ]);
    const refused = new PodstoreError(
      403,
      { type: 'x', title: 'x', status: 403, detail: 'no', code: 'forbidden' },
      null,
    );
    expect([refused.code, refused.retryable]).toEqual(['forbidden', false]);
    // A body that is not a podstore problem (a proxy's page): the status's usual code.
    const proxy = new PodstoreError(502, undefined, null, null);
    expect([proxy.code, proxy.retryable]).toEqual(['bad_gateway', true]);
    const unknown = new PodstoreError(
      418,
      { type: 'x', title: 'x', status: 418, detail: 'tea', code: 'teapot' },
      null,
    );
    expect(unknown.code).toBe('invalid');
  });
});

describe('refusals raised by fastify itself', () => {
  it('keep a status only when a problem type stands for it, so code and status always agree', () => {
    expect([400, 404, 413, 414, 415, 431].map(refusalStatus)).toEqual([400, 404, 413, 414, 415, 431]);
    // No problem type for 418 or 451: a plain 400 invalid rather than a 418 that says "invalid".
    expect([418, 451, undefined, 302, 500].map(refusalStatus)).toEqual([400, 400, 400, 400, 400]);
    expect(problem(414, 'too long')).toMatchObject({
      status: 414,
      title: 'URI Too Long',
      code: 'uri_too_long',
    });
  });

  it('a path segment over the router limit is a 414 uri_too_long (found by the OpenAPI fuzz test)', async () => {
    const { app } = await appWithBroker({ call: async () => ({ ok: true, value: null }) as never });
    try {
      const answer = await app.inject({
        method: 'DELETE',
        url: `/v1/users/patient/tokens/${'x'.repeat(300)}`,
      });
      expect(answer.statusCode).toBe(414);
      expect(answer.json()).toMatchObject({ status: 414, title: 'URI Too Long', code: 'uri_too_long' });
      expect(answer.headers['x-request-id']).toBeTruthy();
    } finally {
      await app.close();
    }
  });
});
