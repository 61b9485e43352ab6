/**
 * The search route at the edge: a bad query or limit is a 400 problem before any command is sent; a good
 * one becomes `search.query` with its arguments, and the worker's refusals come back as problems.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Outcome } from '../../protocol/outcome.ts';
import { appWithBroker } from '../helpers/app-with-broker.ts';

let app: FastifyInstance;
let sent: { command: string; args: object }[] = [];
let answer: Outcome = { ok: true, value: { items: [] } };

beforeAll(async () => {
  ({ app } = await appWithBroker({
    call: async (_service, command, args) => {
      if (command === 'auth.resolve') return { ok: true, value: { username: 'bob' } };
      sent.push({ command, args });
      return answer;
    },
  }));
  await app.ready();
});
afterAll(async () => {
  await app.close();
});
beforeEach(() => {
  sent = [];
  answer = { ok: true, value: { items: [] } };
});

const TOKEN = `pst_${'A'.repeat(43)}`;
const search = (query: string) =>
  app.inject({
    method: 'GET',
    url: `/v1/users/alice/search${query}`,
    headers: { authorization: `Bearer ${TOKEN}` },
  });

describe('GET /v1/users/{owner}/search', () => {
  it('sends search.query with the query and the limit (20 by default), and answers no-store', async () => {
    const hit = {
      path: 'a/b.txt',
      name: 'b.txt',
      score: 1.5,
      snippet: { field: 'text', text: 'x b y', highlights: [{ start: 2, end: 3 }] },
      contentType: 'text/plain',
      size: 5,
      updatedAt: '2026-11-30T12:00:00.000Z',
      etag: 'abc.1',
      author: 'alice',
    };
    answer = { ok: true, value: { items: [hit] } };
    const res = await search('?q=lab%20result');
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual({ items: [hit] });
    expect(sent).toEqual([{ command: 'search.query', args: { owner: 'alice', q: 'lab result', limit: 20 } }]);
    await search('?q=x&limit=50');
    expect(sent[1]?.args).toEqual({ owner: 'alice', q: 'x', limit: 50 });
  });

  it('refuses a bad query or limit with a 400 problem, sending nothing', async () => {
    const bad = [
      '',
      '?q=',
      '?q=%20%20',
      `?q=${'a'.repeat(257)}`,
      `?q=${Array.from({ length: 17 }, (_, i) => `w${i}`).join('+')}`,
      '?q=.*%2B%3F',
      '?q=a%00b',
      '?q=x&limit=0',
      '?q=x&limit=51',
      '?q=x&limit=abc',
      '?q=x&limit=1.5',
      '?q=x&q=y',
    ];
    for (const query of bad) {
      const res = await search(query);
      expect(res.statusCode, query).toBe(400);
      expect(res.headers['content-type'], query).toMatch(/^application\/problem\+json/);
      expect(res.headers['x-request-id'], query).toBeTruthy();
      expect(res.json(), query).toMatchObject({ status: 400, code: 'invalid' });
    }
    expect(sent).toEqual([]);
  });

  it('answers the worker’s refusal as a problem', async () => {
    answer = { ok: false, error: { code: 'forbidden', detail: 'you may read nothing in this pod' } };
    const res = await search('?q=x');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'forbidden', detail: 'you may read nothing in this pod' });
  });
});
