/**
 * The api's read cache (api/read-cache.ts): answers kept until their lease runs out or their pod is
 * invalidated, within a memory bound of which one pod takes at most an eighth.
 */
import { describe, expect, it } from 'vitest';
import { ReadCache } from '../../api/read-cache.ts';

const body = (bytes: number, fill = 1) => Buffer.alloc(bytes, fill);

describe('ReadCache', () => {
  it('answers until the lease runs out, and keeps a copy of what it was given', () => {
    const cache = new ReadCache(1_000_000);
    const given = body(10, 7);
    cache.put('ann', 'k', given, 100);
    given.fill(0); // the caller's buffer is reused: the cache must not see it
    expect(cache.get('k', 99)).toEqual(body(10, 7));
    expect(cache.get('k', 100)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('gives back the memory of answers whose lease ran out, unread', () => {
    const cache = new ReadCache(1_000_000);
    cache.put('ann', 'old', body(1000), 100);
    cache.put('bob', 'new', body(1000), 200);
    cache.dropExpired(150);
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBeLessThan(2000);
    expect(cache.get('new', 150)).toBeDefined();
  });

  it("forgets a pod's answers at once when told, and only that pod's", () => {
    const cache = new ReadCache(1_000_000);
    cache.put('ann', 'a1', body(10), 1e9);
    cache.put('ann', 'a2', body(10), 1e9);
    cache.put('bob', 'b1', body(10), 1e9);
    cache.invalidate('ann');
    expect(cache.get('a1', 0)).toBeUndefined();
    expect(cache.get('a2', 0)).toBeUndefined();
    expect(cache.get('b1', 0)).toEqual(body(10));
    cache.clear();
    expect(cache.get('b1', 0)).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });

  it("keeps one pod to an eighth of the memory, pushing out that pod's oldest first", () => {
    const cache = new ReadCache(80_000); // 10,000 bytes a pod
    cache.put('bob', 'b', body(1000), 1e9);
    for (let i = 0; i < 20; i++) cache.put('ann', `a${i}`, body(1000), 1e9);
    expect(cache.get('b', 0)).toBeDefined(); // another pod's answer survives ann's flood
    expect(cache.get('a19', 0)).toBeDefined();
    expect(cache.get('a0', 0)).toBeUndefined();
    let ann = 0;
    for (let i = 0; i < 20; i++) if (cache.get(`a${i}`, 0) !== undefined) ann++;
    expect(ann * 1400).toBeLessThanOrEqual(10_000);
    // An answer larger than a pod's share is never kept.
    cache.put('carl', 'big', body(20_000), 1e9);
    expect(cache.get('big', 0)).toBeUndefined();
  });

  it('stays within its bound across many pods, dropping the least recently used', () => {
    const cache = new ReadCache(80_000);
    for (let p = 0; p < 200; p++) {
      cache.put(`p${p}`, `k${p}`, body(1000), 1e9);
      cache.get('k0', 0); // p0's answer is used all along
    }
    expect(cache.bytes).toBeLessThanOrEqual(80_000);
    expect(cache.get('k0', 0)).toBeDefined();
    expect(cache.get('k1', 0)).toBeUndefined();
    expect(cache.get('k199', 0)).toBeDefined();
  });
});
