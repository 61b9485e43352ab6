/**
 * Reads and writes pod indexes in the object store, with an in-process cache keyed by the stored
 * object's etag: a query or an update of an unchanged index costs one HEAD, not a download and a parse.
 * The cache is only ever a copy: every write is conditional on the stored version.
 */
import type { ObjectStore } from '../storage/object-store.ts';
import { PodIndex, podIndexKey } from './pod-index.ts';

export interface LoadedIndex {
  /** Undefined when the pod has no index yet. */
  index: PodIndex | undefined;
  /** The stored object's etag (for the conditional write), undefined when there is none. */
  etag: string | undefined;
}

export class PodIndexStore {
  readonly #cache = new Map<string, { etag: string; index: PodIndex }>();

  constructor(
    private readonly store: ObjectStore,
    /** Pods whose parsed index is kept in memory (least recently used go first). */
    private readonly cachePods = 32,
  ) {}

  async load(owner: string): Promise<LoadedIndex> {
    const key = podIndexKey(owner);
    const cached = this.#cache.get(owner);
    if (cached !== undefined) {
      const head = await this.store.head(key);
      if (head === undefined) {
        this.#cache.delete(owner);
        return { index: undefined, etag: undefined };
      }
      if (head.etag === cached.etag) {
        this.#remember(owner, cached.etag, cached.index);
        return { index: cached.index, etag: cached.etag };
      }
    }
    const object = await this.store.get(key);
    if (object === undefined) {
      this.#cache.delete(owner);
      return { index: undefined, etag: undefined };
    }
    const index = PodIndex.parse(object.body);
    this.#remember(owner, object.etag, index);
    return { index, etag: object.etag };
  }

  /** Writes `index` if the stored one is still at `etag` (undefined: if there is none); PreconditionFailedError otherwise. */
  async write(owner: string, index: PodIndex, etag: string | undefined): Promise<string> {
    try {
      const written = await this.store.put(podIndexKey(owner), index.serialize(), {
        ...(etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: etag }),
        contentType: 'application/json',
      });
      this.#remember(owner, written.etag, index);
      return written.etag;
    } catch (error) {
      this.forget(owner);
      throw error;
    }
  }

  /** Drops the cached copy (after it was changed and not written). */
  forget(owner: string): void {
    this.#cache.delete(owner);
  }

  #remember(owner: string, etag: string, index: PodIndex): void {
    this.#cache.delete(owner);
    this.#cache.set(owner, { etag, index });
    while (this.#cache.size > this.cachePods) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }
}
