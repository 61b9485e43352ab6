/** The users service on the in-memory store: profiles created, replaced, patched, conditionally, concurrently. */
import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_PROFILE_BYTES } from '../../protocol/names.ts';
import { type CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { StorageUnavailableError } from '../../worker/storage/object-store.ts';
import { failsWith } from '../helpers/command-errors.ts';
import { type MemoryWorker, memoryWorker } from '../helpers/memory-worker.ts';

let w: MemoryWorker;
let now: Date;

beforeEach(() => {
  now = new Date('2026-01-02T03:04:05.000Z');
  w = memoryWorker({ clock: () => now });
});

describe('UsersService', () => {
  it('creates a profile, then replaces it, keeping its creation time and incarnation', async () => {
    const made = await w.users.put('alice', { name: 'Alice' });
    expect(made.created).toBe(true);
    expect(made.user).toMatchObject({
      username: 'alice',
      kind: 'person',
      profile: { name: 'Alice' },
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    });
    now = new Date(now.getTime() + 60_000);
    const replaced = await w.users.put('alice', { city: 'Lyon' }, {}, 'organization');
    expect(replaced.created).toBe(false);
    expect(replaced.user).toMatchObject({
      profile: { city: 'Lyon' },
      kind: 'person', // the kind is fixed at creation
      createdAt: made.user.createdAt,
      updatedAt: now.toISOString(),
      incarnation: made.user.incarnation,
    });
    expect(replaced.user.etag).not.toBe(made.user.etag);
    expect(await w.users.get('alice')).toEqual(replaced.user);
    expect(w.events.map((e) => [e.kind, e.owner, e.incarnation])).toEqual([
      ['user.created', 'alice', made.user.incarnation],
      ['user.updated', 'alice', made.user.incarnation],
    ]);
  });

  it('gives a new account of a name that was deleted a new incarnation', async () => {
    const first = await w.users.put('alice', {});
    await w.store.deletePrefix('users/alice/');
    const second = await w.users.put('alice', {});
    expect(second.created).toBe(true);
    expect(second.user.incarnation).not.toBe(first.user.incarnation);
  });

  it('applies a JSON merge patch', async () => {
    await w.users.put('alice', { name: 'Alice', address: { city: 'Lyon', zip: '69001' }, tags: ['a'] });
    const patched = await w.users.patch('alice', {
      address: { zip: null, street: 'Rue' },
      tags: ['b'],
      age: 30,
    });
    expect(patched.profile).toEqual({
      name: 'Alice',
      address: { city: 'Lyon', street: 'Rue' },
      tags: ['b'],
      age: 30,
    });
    expect((await w.users.get('alice')).profile).toEqual(patched.profile);
    expect(w.events.at(-1)).toMatchObject({ kind: 'user.patched', owner: 'alice', etag: patched.etag });
  });

  it('honours If-Match and If-None-Match', async () => {
    const { user } = await w.users.put('alice', { v: 1 });
    await failsWith(w.users.put('alice', { v: 2 }, { ifNoneMatch: '*' }), ErrorCode.PRECONDITION_FAILED);
    await failsWith(w.users.put('alice', { v: 2 }, { ifMatch: '"stale"' }), ErrorCode.PRECONDITION_FAILED);
    await failsWith(
      w.users.put('alice', { v: 2 }, { ifMatch: `W/"${user.etag}"` }),
      ErrorCode.PRECONDITION_FAILED,
    );
    await failsWith(w.users.patch('alice', { v: 2 }, { ifMatch: '"stale"' }), ErrorCode.PRECONDITION_FAILED);
    await failsWith(w.users.put('bob', {}, { ifMatch: '*' }), ErrorCode.PRECONDITION_FAILED);
    expect((await w.users.get('alice')).profile).toEqual({ v: 1 });
    const v2 = await w.users.put('alice', { v: 2 }, { ifMatch: `"other", "${user.etag}"` });
    expect(v2.user.profile).toEqual({ v: 2 });
    const v3 = await w.users.patch('alice', { v: 3 }, { ifMatch: '*' });
    expect(v3.profile).toEqual({ v: 3 });
  });

  it('of concurrent creations with If-None-Match: *, exactly one wins', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => w.users.put('alice', { i }, { ifNoneMatch: '*' })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected')
        expect((result.reason as CommandError).code).toBe(ErrorCode.PRECONDITION_FAILED);
    }
  });

  it('loses no concurrent patch', async () => {
    await w.users.put('alice', {});
    await Promise.all(Array.from({ length: 10 }, (_, i) => w.users.patch('alice', { [`k${i}`]: i })));
    const { profile } = await w.users.get('alice');
    expect(Object.keys(profile).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`).sort());
  });

  it('refuses bad names and bad profiles', async () => {
    for (const name of ['A', 'a', '-ab', 'ab-', 'a_b', 'x'.repeat(64), '../x']) {
      await failsWith(w.users.put(name, {}), ErrorCode.INVALID);
      await failsWith(w.users.get(name), ErrorCode.INVALID);
    }
    for (const profile of [null, [], 'text', 3])
      await failsWith(w.users.put('alice', profile), ErrorCode.INVALID);
    await failsWith(w.users.put('alice', { big: 'x'.repeat(MAX_PROFILE_BYTES) }), ErrorCode.INVALID);
    await w.users.put('alice', { a: 1 });
    await failsWith(w.users.patch('alice', [1]), ErrorCode.INVALID);
    await failsWith(w.users.patch('alice', { big: 'x'.repeat(MAX_PROFILE_BYTES) }), ErrorCode.INVALID);
    expect((await w.users.get('alice')).profile).toEqual({ a: 1 });
  });

  it('answers not found for a missing user, and a storage outage as it is', async () => {
    await failsWith(w.users.get('nobody'), ErrorCode.NOT_FOUND);
    await failsWith(w.users.patch('nobody', {}), ErrorCode.NOT_FOUND);
    expect(await w.users.find('nobody')).toBeUndefined();
    w.store.failWith(new StorageUnavailableError('down for a test'));
    await expect(w.users.find('alice')).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(w.users.put('alice', {})).rejects.toBeInstanceOf(StorageUnavailableError);
  });
});
