/**
 * The `search.query` command as the worker's router runs it: its arguments checked against the
 * catalogue, the search answered, refusals as error codes, and a grantee's search in the owner's audit log.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { type CommandContext, CommandRouter } from '../../worker/command-router.ts';
import { registerSearchCommands } from '../../worker/search/search-commands.ts';
import { type MemoryWorker, memoryWorker } from '../helpers/memory-worker.ts';
import { type SearchParts, searchParts } from '../helpers/search-worker.ts';

let w: MemoryWorker;
let s: SearchParts;
let router: CommandRouter;

const ctx = (actor: string | null) =>
  ({
    actor,
    requestId: `req-${actor}`,
    deadline: Date.now() + 5000,
    redelivered: false,
    logger: { warn: () => undefined, error: () => undefined },
  }) as unknown as CommandContext;

beforeEach(async () => {
  w = memoryWorker();
  for (const name of ['alice', 'bob', 'eve']) await w.signUp(name);
  s = searchParts(w);
  router = new CommandRouter();
  registerSearchCommands(router, s.search, w.access);
  await w.grants.put('alice', 'alice', 'bob', { modes: ['read'], scope: '/shared/' }, 'grant');
  await s.index('alice', 'shared/a.txt', 'tulip garden');
  await s.index('alice', 'private/b.txt', 'tulip secret');
});

describe('search.query', () => {
  it('answers the owner’s and a grantee’s search, each within what it may read', async () => {
    const owner = await router.execute('search.query', { owner: 'alice', q: 'tulip' }, ctx('alice'));
    expect(
      owner.ok && (owner.value as { items: { path: string }[] }).items.map((i) => i.path).sort(),
    ).toEqual(['private/b.txt', 'shared/a.txt']);
    const grantee = await router.execute(
      'search.query',
      { owner: 'alice', q: 'tulip', limit: 5 },
      ctx('bob'),
    );
    expect(grantee.ok && (grantee.value as { items: { path: string }[] }).items.map((i) => i.path)).toEqual([
      'shared/a.txt',
    ]);
  });

  it('refuses mistyped arguments and bad queries as invalid, a stranger as forbidden', async () => {
    for (const args of [
      { owner: 'alice' },
      { owner: 'alice', q: 7 },
      { owner: 'alice', q: 'x', limit: '5' },
    ]) {
      const outcome = await router.execute('search.query', args, ctx('alice'));
      expect(outcome).toMatchObject({ ok: false, error: { code: 'invalid' } });
    }
    expect(
      await router.execute('search.query', { owner: 'alice', q: 'x'.repeat(300) }, ctx('alice')),
    ).toMatchObject({
      ok: false,
      error: { code: 'invalid' },
    });
    expect(await router.execute('search.query', { owner: 'alice', q: 'tulip' }, ctx('eve'))).toEqual({
      ok: false,
      error: { code: 'forbidden', detail: 'you may read nothing in this pod' },
    });
  });

  it('records a grantee’s search, and a refused one, in the owner’s audit log (without the query)', async () => {
    await router.execute('search.query', { owner: 'alice', q: 'tulip' }, ctx('bob'));
    await router.execute('search.query', { owner: 'alice', q: 'tulip' }, ctx('eve'));
    await w.audit.flush();
    const { entries } = await w.audit.list('alice');
    const searches = entries.filter((e) => e.action === 'search');
    expect(searches.map((e) => [e.actor, e.outcome]).sort()).toEqual([
      ['bob', 'allowed'],
      ['eve', 'forbidden'],
    ]);
    expect(JSON.stringify(searches)).not.toContain('tulip');
  });
});
