/**
 * The owner incarnation an event is tagged with when its publisher did not say (incarnation.ts): looked
 * up when the event is published, right after its change was committed. It is the worker's one sight of
 * the account (PodWriteGuard: remembered for a quarter of the erasure settle time, forgotten at once by
 * the worker that erases it), the same the change itself was made under, so a burst of changes to one
 * pod reads the account once, not once for the change and again for its event. An owner that is gone
 * has no incarnation: its late events are dropped.
 */
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { PodWriteGuard } from '../users/incarnation.ts';

export function incarnationTags(guard: PodWriteGuard): (owner: string) => Promise<string | undefined> {
  return async (owner) => {
    try {
      return (await guard.observe(owner)).incarnation.id;
    } catch (error) {
      if (error instanceof CommandError && error.code === ErrorCode.NOT_FOUND) return undefined;
      throw error;
    }
  };
}
