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
  readonly #cache = new Map<string, { etag: string; index: PodIndex }>();
  readonly #maxShards: number;

  constructor(
    private readonly store: ObjectStore,
    /** Pods whose parsed shards are kept in memory (least recently used shards go first). */
    cachePods = 32,
  ) {
    this.#maxShards = cachePods * SEARCH_SHARDS;
  }

  async load(owner: string, shard: number): Promise<LoadedIndex> {
    const key = shardKey(owner, shard);
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      const head = await this.store.head(key);
      if (head === undefined) {
        this.#cache.delete(key);
        return { index: undefined, etag: undefined };
      }
      if (head.etag === cached.etag) {
        this.#remember(key, cached.etag, cached.index);
        return { index: cached.index, etag: cached.etag };
      }
    }
    const object = await this.store.get(key);
    if (object === undefined) {
      this.#cache.delete(key);
      return { index: undefined, etag: undefined };
    }
    let index: PodIndex;
    try {
      index = PodIndex.parse(object.body);
    } catch {
      // Unreadable (another format, or damaged): searched as empty, and replaced by the next update.
      this.#cache.delete(key);
      return { index: undefined, etag: object.etag };
    }
    this.#remember(key, object.etag, index);
    return { index, etag: object.etag };
  }

  /** Every shard of the pod, loaded in parallel. */
  loadAll(owner: string): Promise<LoadedIndex[]> {
    return Promise.all(Array.from({ length: SEARCH_SHARDS }, (_, shard) => this.load(owner, shard)));
  }

  /** Writes `index` if the stored shard is still at `etag` (undefined: if there is none); PreconditionFailedError otherwise. */
  async write(owner: string, shard: number, index: PodIndex, etag: string | undefined): Promise<string> {
    const key = shardKey(owner, shard);
    try {
      const written = await this.store.put(key, index.serialize(), {
        ...(etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: etag }),
        contentType: 'application/json',
      });
      this.#remember(key, written.etag, index);
      return written.etag;
    } catch (error) {
      this.#cache.delete(key);
      throw error;
    }
  }

  #remember(key: string, etag: string, index: PodIndex): void {
    this.#cache.delete(key);
    if (this.#maxShards === 0) return;
    this.#cache.set(key, { etag, index });
    while (this.#cache.size > this.#maxShards) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }
}
