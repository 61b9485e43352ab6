/**
 * Search as each caller sees it (the worker's search service on the in-memory store, with the real
 * access service and grants): the owner finds everything; grantees find only what they may read, and
 * nothing of any other file reaches them: not its path, name, snippet, nor its weight in their ranking.
 * The leak checks try hard: queries equal to hidden names, prefixes, typos, paths, many words, symbols.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/outcome.ts';
import type { SearchAnswer } from '../../protocol/search.ts';
import { shardOf } from '../../worker/search/pod-index.ts';
import { failsWith } from '../helpers/command-errors.ts';
import { type MemoryWorker, memoryWorker } from '../helpers/memory-worker.ts';
import {
  bytesOf,
  documentOf,
  type SearchParts,
  searchParts,
  storedShards,
} from '../helpers/search-worker.ts';

let w: MemoryWorker;
let s: SearchParts;
let requests = 0;

const grant = (grantee: string, body: object) =>
  w.grants.put('alice', 'alice', grantee, body, `r${++requests}`);

/** Words that occur only in files bob and carol may not read. */
const HIDDEN_MARKERS = [
  'secret',
  'carcinoma',
  'oncology',
  'inbox',
  'sharedextra',
  'shadow',
  'cancer',
  'plan',
];

beforeEach(async () => {
  w = memoryWorker();
  for (const name of ['alice', 'bob', 'carol', 'dave', 'eve']) await w.signUp(name);
  s = searchParts(w);
  await grant('bob', { modes: ['read'], scope: '/shared/' });
  await grant('carol', { modes: ['read'], scope: '/team/' });
  await grant('carol', { modes: ['write', 'delete'], scope: '/inbox/' });
  await grant('dave', { modes: ['append'], scope: '/drop/' });
  await s.index('alice', 'shared/report.txt', 'quarterly diagnosis summary', { tags: ['quarterly'] });
  await s.index('alice', 'shared/notes.txt', 'summary of the diagnosis and the treatment');
  await s.index('alice', 'team/roadmap.txt', 'diagnosis tooling for the team');
  await s.index('alice', 'secret/diagnosis-cancer.txt', 'oncology diagnosis carcinoma secretword', {
    tags: ['secret'],
    description: 'carcinoma staging',
  });
  await s.index('alice', 'secret/carcinoma.txt', 'carcinoma carcinoma diagnosis');
  await s.index('alice', 'inbox/from-lab.txt', 'diagnosis inboxsecret');
  await s.index('alice', 'sharedextra/shadow.txt', 'diagnosis shadow summary quarterly');
});

const pathsOf = (answer: SearchAnswer) => answer.items.map((item) => item.path);

const PROBES = [
  'diagnosis',
  'diag',
  'diagnosys',
  'carcinoma',
  'carcinom',
  'carcinoma.txt',
  'diagnosis-cancer.txt',
  'secret/carcinoma.txt',
  '/secret/',
  'secret',
  'secretword',
  'secretwrd',
  'cancer',
  'oncology diagnosis carcinoma secretword quarterly summary staging inboxsecret shadow',
  'inboxsecret',
  'inbox',
  'from-lab',
  'sharedextra',
  'shadow',
  'staging',
  'alice',
  'txt',
  '.* (carcinoma|secret)+ [a-z]',
  'summary',
  'quarterly',
];

describe('search: who sees what', () => {
  it('the owner finds every file, with its words in a snippet from its own text', async () => {
    const answer = await s.query('alice', 'alice', 'diagnosis', 50);
    expect(pathsOf(answer).sort()).toEqual([
      'inbox/from-lab.txt',
      'secret/carcinoma.txt',
      'secret/diagnosis-cancer.txt',
      'shared/notes.txt',
      'shared/report.txt',
      'sharedextra/shadow.txt',
      'team/roadmap.txt',
    ]);
    const report = answer.items.find((item) => item.path === 'shared/report.txt');
    expect(report).toMatchObject({ name: 'report.txt', contentType: 'text/plain', author: 'alice' });
    expect(report?.snippet).toEqual({
      field: 'text',
      text: 'quarterly diagnosis summary',
      highlights: [{ start: 10, end: 19 }],
    });
  });

  it('a grantee finds only files in its read scopes, whatever it asks', async () => {
    for (const q of PROBES) {
      for (const [actor, scope] of [
        ['bob', 'shared/'],
        ['carol', 'team/'],
      ] as const) {
        const answer = await s.query(actor, 'alice', q, 50);
        for (const item of answer.items)
          expect(item.path.startsWith(scope), `${actor} ${q}: ${item.path}`).toBe(true);
        const seen = JSON.stringify(answer).toLowerCase();
        for (const marker of HIDDEN_MARKERS) expect(seen, `${actor} asked ${q}`).not.toContain(marker);
      }
    }
    expect(pathsOf(await s.query('bob', 'alice', 'diagnosis')).sort()).toEqual([
      'shared/notes.txt',
      'shared/report.txt',
    ]);
    expect(pathsOf(await s.query('carol', 'alice', 'diag'))).toEqual(['team/roadmap.txt']);
    // Write and delete on /inbox/ are no read: carol does not find what is there.
    expect(pathsOf(await s.query('carol', 'alice', 'inboxsecret'))).toEqual([]);
  });

  it('a grantee’s ranking owes nothing to files it may not read', async () => {
    const before = await s.query('bob', 'alice', 'diagnosis treatment summary quarterly', 50);
    const ownerBefore = await s.query('alice', 'alice', 'diagnosis treatment summary quarterly', 50);
    // Many hidden files that hold some of the words (and so change the pod's statistics).
    // (in the shard of shared/report.txt, so that the owner's scores, from that shard's statistics, move)
    const extras = Array.from({ length: 400 }, (_, i) => `secret/extra-${i}.txt`)
      .filter((path) => shardOf(path) === shardOf('shared/report.txt'))
      .slice(0, 15);
    for (const path of extras) await s.index('alice', path, 'summary summary quarterly plan');
    const after = await s.query('bob', 'alice', 'diagnosis treatment summary quarterly', 50);
    const ownerAfter = await s.query('alice', 'alice', 'diagnosis treatment summary quarterly', 50);
    expect(after).toEqual(before);
    expect(before.items.map((i) => i.score).every((score) => score > 0)).toBe(true);
    // (The owner's BM25 scores do move: the statistics changed.)
    const ownerScore = (a: SearchAnswer) => a.items.find((i) => i.path === 'shared/report.txt')?.score;
    expect(ownerScore(ownerAfter)).not.toBe(ownerScore(ownerBefore));
  });

  it('a caller who may read nothing in the pod is refused, as is a stranger and an anonymous one', async () => {
    await failsWith(s.query('dave', 'alice', 'diagnosis'), ErrorCode.FORBIDDEN);
    await failsWith(s.query('eve', 'alice', 'diagnosis'), ErrorCode.FORBIDDEN);
    await failsWith(s.query(null, 'alice', 'diagnosis'), ErrorCode.FORBIDDEN);
    // The same for a pod that does not exist: nothing to learn about which names are taken.
    await failsWith(s.query('eve', 'nobody', 'diagnosis'), ErrorCode.FORBIDDEN);
  });

  it('a revoked grant is refused at once, an expired one too', async () => {
    expect(pathsOf(await s.query('bob', 'alice', 'quarterly'))).toEqual(['shared/report.txt']);
    await w.grants.revoke('alice', 'alice', 'bob', 'revoke');
    await failsWith(s.query('bob', 'alice', 'quarterly'), ErrorCode.FORBIDDEN);
    await grant('bob', {
      modes: ['read'],
      scope: '/shared/',
      expiresAt: new Date(Date.now() + 300).toISOString(),
    });
    expect(pathsOf(await s.query('bob', 'alice', 'quarterly'))).toEqual(['shared/report.txt']);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await failsWith(s.query('bob', 'alice', 'quarterly'), ErrorCode.FORBIDDEN);
  });

  it('a deleted file is gone at once, before the index catches up', async () => {
    await w.files.delete('alice', 'alice', 'shared/report.txt');
    expect(pathsOf(await s.query('bob', 'alice', 'quarterly'))).toEqual([]);
    expect(pathsOf(await s.query('alice', 'alice', 'quarterly'))).toEqual(['sharedextra/shadow.txt']);
  });

  it('an overwritten file shows only once its new version is indexed, with the new version’s words', async () => {
    const plan = await w.files.planWrite({
      owner: 'alice',
      path: 'shared/report.txt',
      contentType: 'text/plain',
      author: 'alice',
      conditions: {},
    });
    const { info } = await w.files.commitWrite(plan, bytesOf('rewritten entirely'));
    expect(pathsOf(await s.query('bob', 'alice', 'quarterly'))).toEqual([]);
    await s.indexer.upsert('alice', documentOf(info, 'rewritten entirely'));
    // The old text's words are gone (its tags, kept by the overwrite, still count).
    expect(pathsOf(await s.query('bob', 'alice', 'diagnosis'))).toEqual(['shared/notes.txt']);
    expect(pathsOf(await s.query('bob', 'alice', 'quarterly'))).toEqual(['shared/report.txt']);
    const answer = await s.query('bob', 'alice', 'rewritten');
    expect(answer.items).toEqual([expect.objectContaining({ path: 'shared/report.txt', etag: info.etag })]);
  });

  it('a new account of a deleted account’s name sees nothing of the old one', async () => {
    const oldIndex = await storedShards(w.store, 'alice');
    await w.store.deletePrefix('users/alice/');
    // Before the name is taken again: no such user for its owner, nothing for a former grantee.
    await failsWith(s.query('alice', 'alice', 'diagnosis'), ErrorCode.NOT_FOUND);
    await failsWith(s.query('bob', 'alice', 'diagnosis'), ErrorCode.FORBIDDEN);
    await w.signUp('alice');
    // Even were the old index still there (an erasure under way), and files at the same paths:
    for (const { key, body } of oldIndex) await w.store.put(key, body);
    const plan = await w.files.planWrite({
      owner: 'alice',
      path: 'secret/carcinoma.txt',
      contentType: 'text/plain',
      author: 'alice',
      conditions: {},
    });
    // (the same bytes as the old account's file: the same etag, so only the incarnation tells them apart)
    await w.files.commitWrite(plan, bytesOf('carcinoma carcinoma diagnosis'));
    for (const q of PROBES) expect(pathsOf(await s.query('alice', 'alice', q, 50)), q).toEqual([]);
    await failsWith(s.query('bob', 'alice', 'diagnosis'), ErrorCode.FORBIDDEN);
  });
});

describe('search: bounds', () => {
  it('refuses empty, long, many-word and wordless queries, and limits out of range', async () => {
    for (const q of [
      '',
      '   ',
      'a'.repeat(257),
      Array.from({ length: 17 }, (_, i) => `w${i}`).join(' '),
      '.*+?',
      'a\u0000b',
    ]) {
      await failsWith(s.query('alice', 'alice', q), ErrorCode.INVALID);
    }
    for (const limit of [0, 51, 1.5, -1])
      await failsWith(s.query('alice', 'alice', 'diagnosis', limit), ErrorCode.INVALID);
    // The limits themselves are fine.
    await s.query('alice', 'alice', 'a'.repeat(256));
    await s.query('alice', 'alice', Array.from({ length: 16 }, (_, i) => `w${i}`).join(' '), 50);
  });

  it('answers at most `limit` hits, best first', async () => {
    for (let i = 0; i < 30; i++)
      await s.index('alice', `shared/many/m${i}.txt`, `bulk ${'bulk '.repeat(i % 5)}`);
    const answer = await s.query('bob', 'alice', 'bulk', 7);
    expect(answer.items).toHaveLength(7);
    const scores = answer.items.map((i) => i.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect((await s.query('alice', 'alice', 'bulk')).items).toHaveLength(20);
  });
});
