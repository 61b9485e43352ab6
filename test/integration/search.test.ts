/**
 * Search of a pod end to end on real processes (MinIO, nats-server with JetStream, broker, 2 workers,
 * api): files uploaded over HTTP are indexed by the processing pipeline, and `GET …/search` finds them:
 * the owner everything, grantees only what they may read, with the leak checks of the issue (hidden
 * names and texts that hold the query; prefix, typo, path and many-word queries), a revoked grant
 * refused at once, a deleted file gone at once, an overwrite found by its new words, and a name signed
 * up again seeing nothing of the account that had it before.
 *
 * The indexing is asynchronous, so the tests wait (at most 20 s) for what they expect to appear.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, type NatsServer, startMinio, startNats } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import type { SearchAnswer } from '../../protocol/search.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { startTestStack } from '../helpers/test-stack.ts';

let minio: MinioServer;
let nats: NatsServer;
let stack: LocalStack;
let base: string;
const tokens: Record<string, string> = {};

const INDEXING_WAIT_MS = 20_000;

beforeAll(async () => {
  [minio, nats] = await Promise.all([startMinio(), startNats({ jetstream: true })]);
  stack = await startTestStack({
    workers: 2,
    env: {
      NATS_URL: nats.url,
      ...minioEnv(minio, 'search'),
      ERASURE_SETTLE_MS: '1000',
      ERASURE_SCAN_MS: '500',
      // The smallest shard bound, so that one long text is more than a shard can take.
      SEARCH_MAX_SHARD_BYTES: String(64 * 1024),
    },
  });
  base = stack.apiUrl;
  for (const name of ['owner', 'reader', 'teammate', 'appender', 'stranger'])
    tokens[name] = await signUp(base, name);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  await Promise.all([minio?.stop(), nats?.stop()]);
});

const as = (who: string | undefined, url: string, init: RequestInit = {}) =>
  fetch(`${base}${url}`, {
    ...init,
    headers: {
      ...(who === undefined ? {} : bearer(tokens[who] ?? '')),
      ...(init.headers as Record<string, string>),
    },
  });
const put = async (who: string, path: string, body: string, contentType = 'text/plain') => {
  const res = await as(who, `/v1/users/owner/files/${path}`, {
    method: 'PUT',
    headers: { 'content-type': contentType },
    body,
  });
  expect(res.status, `PUT ${path}`).toBeLessThan(300);
};
const grant = async (grantee: string, body: object) => {
  const res = await as('owner', `/v1/users/owner/grants/${grantee}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBeLessThan(300);
};
const search = async (who: string | undefined, q: string, limit = 50, owner = 'owner') =>
  as(who, `/v1/users/${owner}/search?${new URLSearchParams({ q, limit: String(limit) })}`);
const paths = async (who: string, q: string, owner = 'owner') => {
  const res = await search(who, q, 50, owner);
  expect(res.status, `${who} searching ${q}`).toBe(200);
  return ((await res.json()) as SearchAnswer).items.map((item) => item.path).sort();
};
/** Waits until `who`'s search for `q` finds exactly `expected` (the pipeline indexes asynchronously). */
async function eventually(who: string, q: string, expected: string[], owner = 'owner'): Promise<void> {
  const until = Date.now() + INDEXING_WAIT_MS;
  let last: string[] = [];
  while (Date.now() < until) {
    last = await paths(who, q, owner);
    if (JSON.stringify(last) === JSON.stringify([...expected].sort())) return;
    await sleep(250);
  }
  expect(last, `${who} searching ${q} within ${INDEXING_WAIT_MS} ms`).toEqual([...expected].sort());
}

const HIDDEN_MARKERS = ['secret', 'carcinoma', 'oncology', 'inbox', 'sharedextra', 'shadow', 'staging'];
const PROBES = [
  'diagnosis',
  'diag',
  'diagnosys',
  'carcinoma',
  'carcinom',
  'carcinoma.txt',
  'secret/carcinoma.txt',
  '/secret/',
  'secret',
  'secretword',
  'oncology diagnosis carcinoma secretword quarterly summary staging inboxsecret shadow',
  'inboxsecret',
  'sharedextra',
  'shadow',
  'staging',
  '.* (carcinoma|secret)+ [a-z]',
];

describe('search of a pod', () => {
  it('refuses bad queries with a 400 problem, and callers who may read nothing with 403', async () => {
    for (const q of ['', 'a'.repeat(257), Array.from({ length: 17 }, (_, i) => `w${i}`).join(' '), '.*?']) {
      const res = await search('owner', q);
      expect(res.status, q).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.headers.get('x-request-id')).toBeTruthy();
    }
    expect((await search('owner', 'x', 51)).status).toBe(400);
    expect((await search(undefined, 'x')).status).toBe(401);
    expect((await search('stranger', 'x')).status).toBe(403);
    expect((await search('stranger', 'x', 20, 'nobody-here')).status).toBe(403);
  });

  it('finds files by text and metadata: the owner all, grantees only what they may read', async () => {
    await grant('reader', { modes: ['read'], scope: '/shared/' });
    await grant('teammate', { modes: ['read'], scope: '/team/' });
    await grant('teammate', { modes: ['write'], scope: '/inbox/' });
    await grant('appender', { modes: ['append'], scope: '/drop/' });
    await put('owner', 'shared/report.txt', 'quarterly diagnosis summary');
    await put(
      'owner',
      'shared/notes.md',
      '# Notes\n\nsummary of the diagnosis and the treatment',
      'text/markdown',
    );
    await put('owner', 'team/roadmap.json', '{"topic":"diagnosis tooling for the team"}', 'application/json');
    await put('owner', 'secret/diagnosis-cancer.txt', 'oncology diagnosis carcinoma secretword');
    await put('owner', 'secret/carcinoma.txt', 'carcinoma carcinoma diagnosis');
    await put('owner', 'inbox/from-lab.txt', 'diagnosis inboxsecret');
    await put('owner', 'sharedextra/shadow.txt', 'diagnosis shadow summary quarterly');
    const tagged = await as('owner', '/v1/users/owner/files/secret/carcinoma.txt', {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ tags: ['secret'], description: 'carcinoma staging' }),
    });
    expect(tagged.status).toBe(200);
    const everything = [
      'inbox/from-lab.txt',
      'secret/carcinoma.txt',
      'secret/diagnosis-cancer.txt',
      'shared/notes.md',
      'shared/report.txt',
      'sharedextra/shadow.txt',
      'team/roadmap.json',
    ];
    await eventually('owner', 'diagnosis', everything);
    await eventually('owner', 'staging', ['secret/carcinoma.txt']); // the metadata patch, indexed
    expect(await paths('reader', 'diagnosis')).toEqual(['shared/notes.md', 'shared/report.txt']);
    expect(await paths('teammate', 'diag')).toEqual(['team/roadmap.json']);
    expect(await paths('teammate', 'inboxsecret')).toEqual([]);
    expect((await search('appender', 'diagnosis')).status).toBe(403);

    const answer = (await (await search('reader', 'quarterly')).json()) as SearchAnswer;
    expect(answer.items).toEqual([
      expect.objectContaining({
        path: 'shared/report.txt',
        name: 'report.txt',
        contentType: 'text/plain',
        author: 'owner',
        snippet: { field: 'text', text: 'quarterly diagnosis summary', highlights: [{ start: 0, end: 9 }] },
      }),
    ]);

    for (const q of PROBES) {
      for (const [who, scope] of [
        ['reader', 'shared/'],
        ['teammate', 'team/'],
      ] as const) {
        const res = await search(who, q);
        expect(res.status, `${who} ${q}`).toBe(200);
        const body = (await res.json()) as SearchAnswer;
        for (const item of body.items)
          expect(item.path.startsWith(scope), `${who} ${q}: ${item.path}`).toBe(true);
        const text = JSON.stringify(body).toLowerCase();
        for (const marker of HIDDEN_MARKERS) expect(text, `${who} asked ${q}`).not.toContain(marker);
      }
    }
  });

  it('refuses a revoked grantee at once', async () => {
    await grant('stranger', { modes: ['read'], scope: '/shared/' });
    expect(await paths('stranger', 'quarterly')).toEqual(['shared/report.txt']);
    expect((await as('owner', '/v1/users/owner/grants/stranger', { method: 'DELETE' })).status).toBe(204);
    expect((await search('stranger', 'quarterly')).status).toBe(403);
  });

  it('drops a deleted file at once, and finds an overwritten one by its new words', async () => {
    await put('owner', 'shared/old.txt', 'ephemeral words');
    await eventually('reader', 'ephemeral', ['shared/old.txt']);
    expect((await as('owner', '/v1/users/owner/files/shared/old.txt', { method: 'DELETE' })).status).toBe(
      204,
    );
    expect(await paths('reader', 'ephemeral')).toEqual([]);
    await sleep(1000);
    expect(await paths('owner', 'ephemeral')).toEqual([]);

    await put('owner', 'shared/changing.txt', 'before version');
    await eventually('owner', 'before', ['shared/changing.txt']);
    await put('owner', 'shared/changing.txt', 'after version');
    await eventually('owner', 'after', ['shared/changing.txt']);
    expect(await paths('owner', 'before')).toEqual([]);
  });

  it('says in a file’s metadata when the pod’s index was too full for its words', async () => {
    // 12,000 distinct words: more than the 64 KiB a shard may hold here, so the file goes in by name only.
    const words = Array.from({ length: 12_000 }, (_, i) => `lexeme${i}`).join(' ');
    await put('owner', 'notes/encyclopaedia.txt', words);
    await put('owner', 'notes/postcard.txt', 'greetings from the seaside');
    await eventually('owner', 'encyclopaedia', ['notes/encyclopaedia.txt']);
    await eventually('owner', 'seaside', ['notes/postcard.txt']);
    expect(await paths('owner', 'lexeme7')).toEqual([]);
    const processing = async (path: string) => {
      const res = await as('owner', `/v1/users/owner/files/${path}?metadata`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { processing?: object }).processing;
    };
    // The status is written again just after the index (the job's last steps): wait for it.
    const until = Date.now() + INDEXING_WAIT_MS;
    let seen = await processing('notes/encyclopaedia.txt');
    while (JSON.stringify(seen) === JSON.stringify({ state: 'done' }) && Date.now() < until) {
      await sleep(100);
      seen = await processing('notes/encyclopaedia.txt');
    }
    expect(seen).toEqual({ state: 'done', search: 'without-text' });
    expect(await processing('notes/postcard.txt')).toEqual({ state: 'done' });
  });

  it('shows a name signed up again nothing of the deleted account', async () => {
    const first = await signUp(base, 'phoenix');
    const upload = await fetch(`${base}/v1/users/phoenix/files/notes/past.txt`, {
      method: 'PUT',
      headers: { ...bearer(first), 'content-type': 'text/plain' },
      body: 'pastlife memories',
    });
    expect(upload.status).toBe(201);
    tokens.phoenix = first;
    await eventually('phoenix', 'pastlife', ['notes/past.txt'], 'phoenix');
    expect(
      (await fetch(`${base}/v1/users/phoenix`, { method: 'DELETE', headers: bearer(first) })).status,
    ).toBe(204);
    let again = '';
    const until = Date.now() + 20_000;
    while (again === '') {
      again = await signUp(base, 'phoenix').catch(async (error) => {
        if (Date.now() > until) throw error;
        await sleep(250);
        return '';
      });
    }
    tokens.phoenix = again;
    expect(await paths('phoenix', 'pastlife', 'phoenix')).toEqual([]);
    // Same path, same bytes: only the account tells the two files apart.
    const reupload = await fetch(`${base}/v1/users/phoenix/files/notes/past.txt`, {
      method: 'PUT',
      headers: { ...bearer(again), 'content-type': 'text/plain' },
      body: 'newlife',
    });
    expect(reupload.status).toBe(201);
    await eventually('phoenix', 'newlife', ['notes/past.txt'], 'phoenix');
    expect(await paths('phoenix', 'pastlife', 'phoenix')).toEqual([]);
  });
});
