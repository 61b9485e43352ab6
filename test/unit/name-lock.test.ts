/** The lease lock that serializes file creations under one first segment (worker/files/name-lock.ts). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandError } from '../../protocol/outcome.ts';
import { lockKey, NameLocks } from '../../worker/files/name-lock.ts';
import { FsObjectStore } from '../../worker/storage/fs-store.ts';

let dir: string;
let store: FsObjectStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podstore-name-lock-'));
  store = new FsObjectStore(dir, { durable: false });
  await store.init();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('name locks', () => {
  it('share one lock between paths with the same first segment, and none across segments', () => {
    expect(lockKey('alice', 'c/x')).toBe(lockKey('alice', 'c/x/y/z'));
    expect(lockKey('alice', 'c')).toBe(lockKey('alice', 'c/x'));
    expect(lockKey('alice', 'c/x')).not.toBe(lockKey('alice', 'd/x'));
    expect(lockKey('alice', 'c/x')).not.toBe(lockKey('bob', 'c/x'));
    expect(lockKey('alice', 'c/x')).toMatch(/^users\/alice\/locks\/[0-9a-f]{64}$/);
  });

  it('lets one holder in at a time, and frees the lock after each', async () => {
    const locks = new NameLocks(store);
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        locks.withLock('alice', `c/${i}`, async () => {
          inside++;
          most = Math.max(most, inside);
          await tick();
          await tick();
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(await store.get(lockKey('alice', 'c'))).toBeUndefined();
  });

  it('does not serialize different first segments', async () => {
    const locks = new NameLocks(store);
    let inside = 0;
    let most = 0;
    await Promise.all(
      ['a/x', 'b/x', 'c/x'].map((path) =>
        locks.withLock('alice', path, async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((resolve) => setTimeout(resolve, 30));
          inside--;
        }),
      ),
    );
    expect(most).toBe(3);
  });

  it('frees the lock when the work fails', async () => {
    const locks = new NameLocks(store);
    await expect(
      locks.withLock('alice', 'c/x', async () => {
        throw new Error('clash');
      }),
    ).rejects.toThrow('clash');
    await locks.withLock('alice', 'c/y', async () => undefined);
  });

  it('takes over a lock whose holder died once its lease is over, and waits for a live one until its deadline', async () => {
    let skew = 0;
    const clock = () => Date.now() + skew;
    const locks = new NameLocks(store, { leaseMs: 5000, waitMs: 50, clock });
    const key = lockKey('alice', 'c/x');
    // A holder that died: its lock stays behind.
    const until = clock() + 5000;
    await store.put(key, Buffer.from(JSON.stringify({ holder: 'dead', until })), { ifNoneMatch: '*' });
    const refused = await locks.withLock('alice', 'c/x', async () => 'ran').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CommandError);
    expect((refused as CommandError).code).toBe('storage_unavailable');
    expect((refused as CommandError).retryAfterS).toBe(1);
    skew += 5001; // the lease is over
    expect(await locks.withLock('alice', 'c/x', async () => 'ran')).toBe('ran');
    expect(await store.get(key)).toBeUndefined();
  });

  it('refuses to write with less than its write margin of the lease left, and knows when it may have lost the lock', async () => {
    let now = 0;
    const locks = new NameLocks(store, {
      leaseMs: 2000,
      writeMarginMs: 1000,
      clockSkewMs: 500,
      clock: () => now,
    });
    expect(
      await locks.withLock('alice', 'c/x', async (lease) => {
        now += 900;
        lease.beforeWrite();
        expect(lease.stillHeld()).toBe(true);
        now += 700; // the write took long: 1600 ms in, within 500 ms of the lease's end
        return lease.stillHeld();
      }),
    ).toBe(false);
    // The lock of a holder that may have lost it is not deleted by it: it expires by itself.
    expect(await store.get(lockKey('alice', 'c/x'))).toBeDefined();
    now += 2000;
    const result = locks.withLock('alice', 'c/x', async (lease) => {
      now += 1100;
      lease.beforeWrite();
      return 'written';
    });
    await expect(result).rejects.toMatchObject({ code: 'storage_unavailable' });
  });
});
