/**
 * Grants on the in-memory store, through the real services: the owner grants and revokes, a grantee
 * with control delegates within what it holds, what a grant allows is what the files service lets pass.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/outcome.ts';
import { failsWith } from '../helpers/command-errors.ts';
import { type MemoryWorker, memoryWorker } from '../helpers/memory-worker.ts';

let w: MemoryWorker;
let now: Date;
let requests = 0;

beforeEach(async () => {
  now = new Date('2026-03-01T12:00:00.000Z');
  w = memoryWorker({ clock: () => now });
  for (const name of ['alice', 'bob', 'carol', 'dave']) await w.signUp(name);
});

const grant = (actor: string, grantee: string, body: unknown, owner = 'alice') =>
  w.grants.put(actor, owner, grantee, body, `req-${++requests}`);

/** Whether `actor` may read `path` in alice's pod, as the files service decides. */
async function canRead(actor: string, path: string): Promise<boolean> {
  const holding = await w.access.holding(actor, 'alice');
  return w.access.modes(holding, path)?.has('read') ?? true;
}

describe('GrantsService', () => {
  it('lets the owner grant, shows the grant to owner and grantee, and publishes the change', async () => {
    const view = await grant('alice', 'bob', { modes: ['read'], scope: '/medical/' });
    expect(view).toMatchObject({
      grantee: 'bob',
      entries: [{ modes: ['read'], scope: '/medical/', grantedBy: 'alice' }],
      effective: [{ modes: ['read'], scope: '/medical/' }],
    });
    expect(await canRead('bob', 'medical/x.pdf')).toBe(true);
    expect(await canRead('bob', 'diary.txt')).toBe(false);
    expect((await w.grants.get('bob', 'alice', 'bob')).grantee).toBe('bob');
    expect((await w.grants.list('alice', 'alice')).map((g) => g.grantee)).toEqual(['bob']);
    expect(w.events.at(-1)).toMatchObject({ kind: 'grant.changed', owner: 'alice', path: 'bob' });
  });

  it('shows nothing to strangers, and lists only to the owner', async () => {
    await grant('alice', 'bob', { modes: ['read'], scope: '/' });
    await failsWith(w.grants.get('carol', 'alice', 'bob'), ErrorCode.NOT_FOUND);
    await failsWith(w.grants.get('alice', 'alice', 'carol'), ErrorCode.NOT_FOUND);
    await failsWith(w.grants.list('bob', 'alice'), ErrorCode.FORBIDDEN);
    await failsWith(grant('carol', 'dave', { modes: ['read'], scope: '/' }), ErrorCode.FORBIDDEN);
    await failsWith(grant('bob', 'dave', { modes: ['read'], scope: '/' }), ErrorCode.FORBIDDEN);
  });

  it('refuses malformed grants, the owner as grantee and unknown grantees', async () => {
    for (const body of [
      null,
      [],
      { modes: ['fly'], scope: '/' },
      { modes: ['read'], scope: 'medical' },
      { modes: ['read'], scope: '/a/../b/' },
      { modes: ['read'], scope: '/', extra: 1 },
    ]) {
      await failsWith(grant('alice', 'bob', body), ErrorCode.INVALID);
    }
    await failsWith(grant('alice', 'alice', { modes: ['read'], scope: '/' }), ErrorCode.INVALID);
    await failsWith(grant('alice', 'nobody', { modes: ['read'], scope: '/' }), ErrorCode.NOT_FOUND);
    expect(await w.grants.list('alice', 'alice')).toEqual([]);
  });

  it('stops counting an entry when it expires', async () => {
    const expiresAt = new Date(now.getTime() + 60_000).toISOString();
    await grant('alice', 'bob', { modes: ['read'], scope: '/', expiresAt });
    expect(await canRead('bob', 'a.txt')).toBe(true);
    now = new Date(now.getTime() + 60_001);
    expect(await canRead('bob', 'a.txt')).toBe(false);
    expect((await w.grants.list('alice', 'alice'))[0]?.entries ?? []).toEqual([]);
  });

  it('lets a grantee with control delegate what it holds, within its scope, and no more', async () => {
    await grant('alice', 'bob', { modes: ['read', 'control'], scope: '/shared/' });
    const carol = await grant('bob', 'carol', { modes: ['read'], scope: '/shared/photos/' });
    expect(carol.entries).toEqual([expect.objectContaining({ grantedBy: 'bob', scope: '/shared/photos/' })]);
    expect(await canRead('carol', 'shared/photos/1.jpg')).toBe(true);
    // Modes bob does not hold, scopes outside his, his own grant: refused.
    await failsWith(grant('bob', 'dave', { modes: ['write'], scope: '/shared/' }), ErrorCode.FORBIDDEN);
    await failsWith(grant('bob', 'dave', { modes: ['read'], scope: '/' }), ErrorCode.FORBIDDEN);
    await failsWith(grant('bob', 'bob', { modes: ['read'], scope: '/shared/' }), ErrorCode.FORBIDDEN);
    await failsWith(
      grant('bob', 'dave', { scopes: [{ modes: ['read'], scope: '/shared/' }] }),
      ErrorCode.FORBIDDEN,
    );
    // What bob gave counts only as long as bob holds it.
    await w.grants.revoke('alice', 'alice', 'bob', 'req-revoke');
    expect(await canRead('carol', 'shared/photos/1.jpg')).toBe(false);
    await failsWith(w.grants.revoke('alice', 'alice', 'bob', 'req-again'), ErrorCode.NOT_FOUND);
  });

  it('lets a delegator revoke what lies within its control, and not the owner’s entries', async () => {
    await grant('alice', 'bob', { modes: ['read', 'control'], scope: '/shared/' });
    await grant('alice', 'carol', { modes: ['read'], scope: '/' });
    await failsWith(w.grants.revoke('bob', 'alice', 'carol', 'r'), ErrorCode.FORBIDDEN);
    await grant('bob', 'dave', { modes: ['read'], scope: '/shared/' });
    await w.grants.revoke('bob', 'alice', 'dave', 'r2');
    expect(await canRead('dave', 'shared/a')).toBe(false);
    expect(await canRead('carol', 'shared/a')).toBe(true);
  });

  it('records every grant change in the owner’s audit log', async () => {
    await grant('alice', 'bob', { modes: ['read', 'control'], scope: '/shared/' });
    await grant('bob', 'carol', { modes: ['read'], scope: '/shared/' });
    await failsWith(grant('carol', 'dave', { modes: ['read'], scope: '/' }), ErrorCode.FORBIDDEN);
    await w.audit.flush();
    const { entries } = await w.audit.list('alice');
    const seen = entries.map((e) => [e.actor, e.action, e.path, e.outcome]);
    expect(seen).toEqual(
      expect.arrayContaining([
        ['alice', 'grant', 'bob', 'allowed'],
        ['bob', 'grant', 'carol', 'allowed'],
        ['carol', 'grant', 'dave', 'forbidden'],
      ]),
    );
  });
});
