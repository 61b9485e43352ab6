/**
 * The owner incarnation an event is tagged with when its publisher did not say (incarnation.ts): looked
 * up when the event is published, right after its change was committed, and kept for a moment (well
 * under the erasure settle time, so a name can never change owners within it). An owner that is gone
 * has no incarnation: its late events are dropped.
 */

import type { ObjectStore } from '../storage/object-store.ts';
import { IncarnationReader } from '../users/incarnation.ts';

const MAX_ENTRIES = 10_000;

export function incarnationTags(
  store: ObjectStore,
  settleMs: number,
): (owner: string) => Promise<string | undefined> {
  const reader = new IncarnationReader(store);
  const ttlMs = Math.min(500, settleMs / 4);
  const cache = new Map<string, { id: string; until: number }>();
  return async (owner) => {
    const now = performance.now();
    const hit = cache.get(owner);
    if (hit !== undefined && hit.until > now) return hit.id;
    const found = await reader.current(owner);
    if (found === undefined) {
      cache.delete(owner);
      return undefined;
    }
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(owner, { id: found.id, until: now + ttlMs });
    return found.id;
  };
}
