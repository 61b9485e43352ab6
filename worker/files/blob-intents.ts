/**
 * Blobs that a dead worker left behind. A large file's bytes are stored as a blob before its record
 * names it; a worker that dies between the two (or whose clean-up fails) leaves a blob nobody names. So
 * before storing a blob the worker notes an intent, `blob-intents/<ms>-<uuid>.json` = {owner, path,
 * blob}, and drops it once the record is written (or the blob removed). The sweeper lists the oldest
 * intents and, for each older than the grace (longer than any upload may last), removes the blob unless
 * the record at that path names it, then the intent. Small files are inline and have no blob: they cost
 * nothing here; a large one costs a PUT and a background delete.
 *
 * Keys sort by time, so a sweep reads one short page whatever the store holds. A POST whose name changes
 * during its commit rewrites its intent with the new path first, so the check always looks at the path
 * the record is written to.
 */
import { randomUUID } from 'node:crypto';
import type { ObjectStore } from '../storage/object-store.ts';
import { fileKey, parseRecord } from './file-record.ts';

export const BLOB_INTENTS_PREFIX = 'blob-intents/';

export interface BlobIntent {
  owner: string;
  path: string;
  blob: string;
}

/** One sweep's outcome: blobs removed as orphans, and intents dropped whose blob a record names. */
export interface SweepResult {
  removed: number;
  kept: number;
}

export class BlobIntents {
  constructor(
    private readonly store: ObjectStore,
    /** An intent older than this is a dead worker's: longer than any upload may last. */
    readonly graceMs: number,
    private readonly clock: () => number = () => Date.now(),
  ) {}

  /** Notes that `blob` is about to be stored for `owner`'s `path`; resolves to the intent's key. */
  async note(intent: BlobIntent): Promise<string> {
    const key = `${BLOB_INTENTS_PREFIX}${String(this.clock()).padStart(13, '0')}-${randomUUID()}.json`;
    await this.write(key, intent);
    return key;
  }

  /** The same intent, now for another path (a POST that had to take another name). */
  async write(key: string, intent: BlobIntent): Promise<void> {
    await this.store.put(key, Buffer.from(JSON.stringify(intent)), { contentType: 'application/json' });
  }

  /** The record names the blob, or the blob is gone: the intent is no longer needed. */
  async clear(key: string): Promise<void> {
    await this.store.discard(key);
  }

  /** Removes the orphans among the oldest `limit` intents that are past the grace. */
  async sweep(limit = 100): Promise<SweepResult> {
    const result: SweepResult = { removed: 0, kept: 0 };
    const page = await this.store.list(BLOB_INTENTS_PREFIX, { limit });
    const cutoff = this.clock() - this.graceMs;
    for (const item of page.items) {
      const at = Number(item.key.slice(BLOB_INTENTS_PREFIX.length, BLOB_INTENTS_PREFIX.length + 13));
      if (!(at <= cutoff)) break; // sorted by time: the rest are younger
      const object = await this.store.get(item.key);
      if (object === undefined) continue; // cleared meanwhile
      const intent = JSON.parse(object.body.toString('utf8')) as BlobIntent;
      const record = await this.store.get(fileKey(intent.owner, intent.path));
      if (record !== undefined && parseRecord(record.body).blob === intent.blob) result.kept++;
      else {
        await this.store.discard(intent.blob);
        result.removed++;
      }
      await this.store.discard(item.key);
    }
    return result;
  }
}
