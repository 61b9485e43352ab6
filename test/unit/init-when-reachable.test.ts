/** A worker starting before its object store answers waits for it, and gives up at once on other errors. */
import { describe, expect, it } from 'vitest';
import { initWhenReachable } from '../../worker/storage/init-when-reachable.ts';
import { StorageUnavailableError } from '../../worker/storage/object-store.ts';

/** A store whose init answers from a script of outcomes, one per call. */
function scriptedStore(outcomes: (Error | 'ok')[]) {
  const store = {
    calls: 0,
    async init() {
      const outcome = outcomes[store.calls++] ?? 'ok';
      if (outcome !== 'ok') throw outcome;
    },
  };
  return store;
}

describe('initWhenReachable', () => {
  it('retries while the store is unavailable, waiting longer each time up to the cap', async () => {
    const unavailable = (code: string) =>
      new StorageUnavailableError(`S3 store: init failed: ${code}`, {
        cause: Object.assign(new Error(code), { code }),
      });
    const store = scriptedStore([
      unavailable('ENOTFOUND'),
      unavailable('ECONNREFUSED'),
      unavailable('XMinioServerNotInitialized'),
      unavailable('ECONNREFUSED'),
      'ok',
    ]);
    const waits: number[] = [];
    const retries: number[] = [];
    await initWhenReachable(
      store,
      (_error, attempt) => retries.push(attempt),
      { firstDelayMs: 100, maxDelayMs: 500 },
      async (ms) => {
        waits.push(ms);
      },
    );
    expect(store.calls).toBe(5);
    expect(retries).toEqual([1, 2, 3, 4]);
    expect(waits).toEqual([100, 200, 400, 500]);
  });

  it('returns at once when the store answers the first time', async () => {
    const store = scriptedStore(['ok']);
    let retried = false;
    await initWhenReachable(store, () => {
      retried = true;
    });
    expect([store.calls, retried]).toEqual([1, false]);
  });

  it('does not retry a store that answers but refuses, nor a bug', async () => {
    const denied = new StorageUnavailableError('S3 store: init failed: AccessDenied', {
      cause: Object.assign(new Error('Access Denied.'), { code: 'AccessDenied' }),
    });
    const bug = new TypeError('not a function');
    for (const error of [denied, bug]) {
      const store = scriptedStore([error, 'ok']);
      await expect(initWhenReachable(store, () => {}, { firstDelayMs: 1, maxDelayMs: 1 })).rejects.toBe(
        error,
      );
      expect(store.calls).toBe(1);
    }
  });
});
