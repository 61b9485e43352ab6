/**
 * The account document remembered by a pod's home (UsersService with an AccountMemory, decision 0008):
 * used only under an exclusive placement, while the worker's recent sight of the account is of the same
 * incarnation; an erased account is not served from memory once that sight lapses, and a later account
 * of the same name never meets the earlier one's document.
 */
import { describe, expect, it } from 'vitest';
import { RecordCache } from '../../worker/files/record-cache.ts';
import { MemoryObjectStore } from '../../worker/storage/memory-store.ts';
import { IncarnationReader, PodWriteGuard } from '../../worker/users/incarnation.ts';
import { profileKey, UsersService } from '../../worker/users/users-service.ts';

const SETTLE = 2000;
const home = { run: 1, epoch: 1, exclusive: true };

function setup() {
  const store = new MemoryObjectStore();
  const reads: string[] = [];
  const get = store.get.bind(store);
  store.get = async (key) => {
    reads.push(key);
    return get(key);
  };
  let now = 1000;
  const guard = new PodWriteGuard(new IncarnationReader(store), SETTLE, () => now);
  const cache = new RecordCache(1 << 20);
  const users = new UsersService(store, undefined, undefined, { cache, guard });
  cache.admit('ann', home);
  return { store, reads, users, cache, guard, later: (ms: number) => (now += ms) };
}

describe('the account document in memory', () => {
  it('reads it once for a run of commands placed on the home, and not at all after writing it', async () => {
    const { users, reads } = setup();
    await users.put('ann', { a: 1 }, { ifNoneMatch: '*' }, 'person', home);
    reads.length = 0;
    expect((await users.get('ann', home)).profile).toEqual({ a: 1 });
    expect((await users.get('ann', home)).profile).toEqual({ a: 1 });
    expect(reads).toEqual([profileKey('ann')]); // the sight of the account, then memory
    const { user } = await users.put('ann', { a: 2 }, {}, 'person', home);
    reads.length = 0;
    expect(await users.get('ann', home)).toEqual(user);
    expect(reads).toEqual([]);
  });

  it('never uses it for a command that is not exclusive', async () => {
    const { users, reads } = setup();
    await users.put('ann', { a: 1 }, { ifNoneMatch: '*' }, 'person', home);
    await users.get('ann', home);
    reads.length = 0;
    await users.get('ann', { ...home, exclusive: false });
    await users.get('ann');
    expect(reads).toEqual([profileKey('ann'), profileKey('ann')]);
  });

  it('answers NOT_FOUND for an account erased elsewhere once the sight of it lapses', async () => {
    const { users, store, later } = setup();
    await users.put('ann', { a: 1 }, { ifNoneMatch: '*' }, 'person', home);
    await users.get('ann', home);
    await store.delete(profileKey('ann')); // an erasure on another worker: no command of the pod here
    later(SETTLE / 4);
    await expect(users.get('ann', home)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('never gives a later account of the same name the earlier one’s document', async () => {
    const { users, store, later } = setup();
    await users.put('ann', { first: true }, { ifNoneMatch: '*' }, 'person', home);
    await users.get('ann', home);
    await store.delete(profileKey('ann'));
    later(SETTLE / 4);
    // A new account of the name, written by another worker (the store only).
    await new UsersService(store).put('ann', { second: true }, { ifNoneMatch: '*' });
    expect((await users.get('ann', home)).profile).toEqual({ second: true });
    expect((await users.get('ann', home)).profile).toEqual({ second: true });
  });
});
