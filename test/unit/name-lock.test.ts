/** The lease lock that serializes file creations under one first segment (worker/files/name-lock.ts). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandError } from '../../protocol/outcome.ts';
import { lockKey, NameLocks, pathsClash } from '../../worker/files/name-lock.ts';
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

  it("runs one worker's creations under one lock at once, and frees the lock after the last", async () => {
    const locks = new NameLocks(store);
    let inside = 0;
    let most = 0;
    let puts = 0;
    const put = store.put.bind(store);
    store.put = (...args: Parameters<typeof store.put>) => {
      if (args[0] === lockKey('alice', 'c')) puts++;
      return put(...args);
    };
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
    expect(most).toBe(8);
    expect(puts).toBe(1); // one lease for the whole batch
    expect(await store.get(lockKey('alice', 'c'))).toBeUndefined();
  });

  it('lets a path and the paths under it in one at a time, within one worker', async () => {
    const locks = new NameLocks(store);
    const order: string[] = [];
    const run = (path: string, ms: number) =>
      locks.withLock('alice', path, async () => {
        order.push(`+${path}`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        order.push(`-${path}`);
      });
    await Promise.all([run('c/x', 30), run('c/x/y', 1), run('c/x', 1), run('c/z', 1)]);
    // c/z does not clash with c/x: it ran inside it. c/x/y and the second c/x waited for the first.
    expect(order.slice(0, 4)).toEqual(['+c/x', '+c/z', '-c/z', '-c/x']);
    expect(order.slice(4)).toEqual(['+c/x/y', '-c/x/y', '+c/x', '-c/x']);
    expect(pathsClash('c/x', 'c/x/y')).toBe(true);
    expect(pathsClash('c/x/y', 'c/x')).toBe(true);
    expect(pathsClash('c/x', 'c/xy')).toBe(false);
  });

  it("never lets two workers in under one lock at once, and lets a waiting worker in after a busy one's batch", async () => {
    // Two workers (two NameLocks on one store), each creating without pause until both have made a few
    // creations: a worker that is never let in keeps the other one busy until the deadline, and fails.
    // (Counted, not timed: a loaded machine only makes it slower.)
    const workers = [
      new NameLocks(store, { batchMs: 100, yieldMs: 30 }),
      new NameLocks(store, { batchMs: 100, yieldMs: 30 }),
    ];
    const inside = [0, 0];
    const done = [0, 0];
    let overlap = false;
    const deadline = Date.now() + 15_000;
    const enough = () => (done[0] ?? 0) >= 5 && (done[1] ?? 0) >= 5;
    // Each worker runs three loops of creations of different lengths, so its creations overlap and it
    // is never idle: only the end of its batch lets the other worker in.
    const loop = async (w: number, ms: number) => {
      for (let i = 0; !enough() && Date.now() < deadline; i++)
        await (workers[w] as NameLocks).withLock('alice', `c/${w}-${ms}-${i}`, async () => {
          inside[w] = (inside[w] ?? 0) + 1;
          if ((inside[1 - w] ?? 0) > 0) overlap = true;
          await new Promise((resolve) => setTimeout(resolve, ms));
          inside[w] = (inside[w] ?? 0) - 1;
          done[w] = (done[w] ?? 0) + 1;
        });
    };
    await Promise.all([2, 3, 5].flatMap((ms) => [loop(0, ms), loop(1, ms)]));
    expect(overlap).toBe(false);
    // Neither worker starved: each got in, again and again, while the other never paused.
    expect(done[0]).toBeGreaterThanOrEqual(5);
    expect(done[1]).toBeGreaterThanOrEqual(5);
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
