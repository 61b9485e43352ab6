/**
 * A request that fails its route's schema is a 400 whose detail says what was wrong and where, once:
 * the api's app in process (the broker a stand-in that must never be reached), and the formatter alone.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validationDetail } from '../../api/validation-detail.ts';
import { appWithBroker } from '../helpers/app-with-broker.ts';

let app: FastifyInstance;
const sent: string[] = [];

beforeAll(async () => {
  ({ app } = await appWithBroker({
    call: async (_service, command) => {
      if (command === 'auth.resolve') return { ok: true, value: { username: 'alice' } };
      sent.push(command);
      return { ok: true, value: {} };
    },
  }));
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

const TOKEN = `pst_${'A'.repeat(43)}`;
const auth = { authorization: `Bearer ${TOKEN}` };

describe('the detail of a 400 for a request against its schema', () => {
  it('names a bad query parameter once, in words', async () => {
    for (const url of [
      '/v1/users/alice/files/a/?limit=-1',
      '/v1/users/alice/files/a/?limit=abc',
      '/v1/users/alice/search?q=x&limit=-1',
    ]) {
      const res = await app.inject({ method: 'GET', url, headers: auth });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = res.json();
      expect(problem).toMatchObject({ status: 400, code: 'invalid' });
      expect(problem.detail).toBe('query parameter limit must be a whole number');
      expect(res.headers['x-request-id']).toBeTruthy();
    }
    expect(sent).toEqual([]);
  });

  it('gives the alternatives of a body that matches none of them, and the field that is wrong', async () => {
    const missing = await app.inject({
      method: 'PUT',
      url: '/v1/users/alice/grants/bob',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: { mode: 7 },
    });
    expect(missing.statusCode).toBe(400);
    const detail: string = missing.json().detail;
    expect(detail).toContain("the body must have required property 'scopes'");
    expect(detail).toContain(', or ');
    expect(detail).toContain("the body must have required property 'modes'");
    expect(detail).not.toMatch(/body body|querystring/);
    const badMode = await app.inject({
      method: 'PUT',
      url: '/v1/users/alice/grants/bob',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: { modes: ['fly'], scope: '/x/' },
    });
    expect(badMode.statusCode).toBe(400);
    expect(badMode.json().detail).toMatch(/^body field modes\.0 must be one of "read", /);
    expect(sent).toEqual([]);
  });
});

describe('validationDetail', () => {
  it('says where: body field, query parameter, path segment, header, the whole part', () => {
    const error = (instancePath: string) => ({
      instancePath,
      keyword: 'type',
      params: {},
      message: 'must be string',
    });
    expect(validationDetail('body', [error('/meta/title')])).toBe('body field meta.title must be string');
    expect(validationDetail('querystring', [error('/q')])).toBe('query parameter q must be string');
    expect(validationDetail('params', [error('/owner')])).toBe('path segment owner must be string');
    expect(validationDetail('headers', [error('/if-match')])).toBe('header if-match must be string');
    expect(validationDetail('body', [error('')])).toBe('the body must be string');
  });

  it('names each problem once, at most five, and counts the rest', () => {
    const errors = Array.from({ length: 8 }, (_, i) => ({
      instancePath: `/f${i % 7}`,
      keyword: 'type',
      params: {},
      message: 'must be integer',
    }));
    const detail = validationDetail('body', errors);
    expect(detail.split('; ')).toHaveLength(6);
    expect(detail).toMatch(/; and 2 more$/);
    expect(validationDetail('body', [])).toBe('the body is not valid');
  });
});
