/**
 * Reads and writes the shards of pod indexes in the object store, with an in-process cache keyed by the
 * stored object's etag: a query or an update of an unchanged shard costs one HEAD, not a download and a
 * parse. The cache is only ever a copy: every write is conditional on the stored version.
 */
import type { ObjectStore } from '../storage/object-store.ts';
import { PodIndex, SEARCH_SHARDS, shardKey } from './pod-index.ts';

export interface LoadedIndex {
  /** Undefined when the shard does not exist yet. */
  index: PodIndex | undefined;
  /** The stored object's etag (for the conditional write), undefined when there is none. */
  etag: string | undefined;
}

export class PodIndexStore {
  readonly #cache = new Map<string, { etag: string; index: PodIndex; bytes: number }>();
  readonly #maxShards: number;
  #cachedBytes = 0;

  constructor(
    private readonly store: ObjectStore,
    /** Pods whose parsed shards are kept in memory (least recently used shards go first). */
    cachePods = 32,
    /** Stored bytes of the shards kept in memory at most, whatever their number. */
    private readonly cacheBytes = 64 * 1024 * 1024,
  ) {
    this.#maxShards = cachePods * SEARCH_SHARDS;
  }

  async load(owner: string, shard: number): Promise<LoadedIndex> {
    const key = shardKey(owner, shard);
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      const head = await this.store.head(key);
      if (head === undefined) {
        this.#drop(key);
        return { index: undefined, etag: undefined };
      }
      if (head.etag === cached.etag) {
        this.#remember(key, cached.etag, cached.index, cached.bytes);
        return { index: cached.index, etag: cached.etag };
      }
    }
    const object = await this.store.get(key);
    if (object === undefined) {
      this.#drop(key);
      return { index: undefined, etag: undefined };
    }
    let index: PodIndex;
    try {
      index = PodIndex.parse(object.body);
    } catch {
      // Unreadable (another format, or damaged): searched as empty, and replaced by the next update.
      this.#drop(key);
      return { index: undefined, etag: object.etag };
    }
    this.#remember(key, object.etag, index, object.body.length);
    return { index, etag: object.etag };
  }

  /** Every shard of the pod, loaded in parallel. */
  loadAll(owner: string): Promise<LoadedIndex[]> {
    return Promise.all(Array.from({ length: SEARCH_SHARDS }, (_, shard) => this.load(owner, shard)));
  }

  /** Writes `index` if the stored shard is still at `etag` (undefined: if there is none); PreconditionFailedError otherwise. */
  async write(
    owner: string,
    shard: number,
    index: PodIndex,
    etag: string | undefined,
    body: Buffer = index.serialize(),
  ): Promise<string> {
    const key = shardKey(owner, shard);
    try {
      const written = await this.store.put(key, body, {
        ...(etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: etag }),
        contentType: 'application/json',
      });
      this.#remember(key, written.etag, index, body.length);
      return written.etag;
    } catch (error) {
      this.#drop(key);
      throw error;
    }
  }

  /** Removes a stored shard (one written for an account that was gone meanwhile), and its cached copy. */
  async remove(owner: string, shard: number): Promise<void> {
    const key = shardKey(owner, shard);
    this.#drop(key);
    await this.store.delete(key);
  }

  /** Drops the cached copy of a shard (one changed in memory and not written). */
  forget(owner: string, shard: number): void {
    this.#drop(shardKey(owner, shard));
  }

  #drop(key: string): void {
    const cached = this.#cache.get(key);
    if (cached === undefined) return;
    this.#cache.delete(key);
    this.#cachedBytes -= cached.bytes;
  }

  #remember(key: string, etag: string, index: PodIndex, bytes: number): void {
    this.#drop(key);
    if (this.#maxShards === 0 || bytes > this.cacheBytes) return;
    this.#cache.set(key, { etag, index, bytes });
    this.#cachedBytes += bytes;
    while (this.#cache.size > this.#maxShards || this.#cachedBytes > this.cacheBytes) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#drop(oldest);
    }
  }
}
