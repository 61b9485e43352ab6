/**
 * The search parts wired on a memory worker (test/helpers/memory-worker.ts) as worker/main.ts wires them,
 * with the pipeline's part played by `index`: writes a file through the files service, then indexes the
 * committed version with the text given.
 */

import type { FileInfo } from '../../protocol/file-info.ts';
import type { SearchAnswer } from '../../protocol/search.ts';
import { derivedKey, TEXT_NAME } from '../../worker/processing/derived-keys.ts';
import { PodIndex, searchRoot } from '../../worker/search/pod-index.ts';
import { PodIndexStore } from '../../worker/search/pod-index-store.ts';
import { type IndexOutcome, PodIndexer } from '../../worker/search/pod-indexer.ts';
import type { SearchDocument } from '../../worker/search/search-document.ts';
import { SearchService } from '../../worker/search/search-service.ts';
import type { ObjectStore } from '../../worker/storage/object-store.ts';
import { IncarnationReader, PodWriteGuard } from '../../worker/users/incarnation.ts';
import type { MemoryWorker } from './memory-worker.ts';

export interface SearchParts {
  indexes: PodIndexStore;
  indexer: PodIndexer;
  search: SearchService;
  /** Writes `path` in `owner`'s pod (as `author`) and indexes it with `text`. */
  index(
    owner: string,
    path: string,
    text: string,
    meta?: { tags?: string[]; description?: string; author?: string },
  ): Promise<FileInfo>;
  query(actor: string | null, owner: string, q: string, limit?: number): Promise<SearchAnswer>;
  /** What the index took of each file `index` wrote, by `owner/path` (the upsert's answer). */
  outcomes: Map<string, IndexOutcome | undefined>;
}

export async function* bytesOf(text: string): AsyncGenerator<Buffer> {
  yield Buffer.from(text);
}

export const documentOf = (info: FileInfo, text: string): SearchDocument => ({
  path: info.path,
  etag: info.etag,
  name: info.path.slice(info.path.lastIndexOf('/') + 1),
  text,
  tags: info.tags,
  description: info.description,
  author: info.author,
  contentType: info.contentType,
  updatedAt: info.updatedAt,
  size: info.size,
});

export function searchParts(
  w: MemoryWorker,
  options: { maxTextChars?: number; maxShardBytes?: number } = {},
): SearchParts {
  const incarnations = new IncarnationReader(w.store);
  const indexes = new PodIndexStore(w.store);
  const indexer = new PodIndexer(w.store, indexes, new PodWriteGuard(incarnations, 0), {
    maxTextChars: options.maxTextChars ?? 200_000,
    ...(options.maxShardBytes === undefined ? {} : { maxShardBytes: options.maxShardBytes }),
  });
  const search = new SearchService(w.store, indexes, w.access, incarnations);
  const outcomes = new Map<string, IndexOutcome | undefined>();
  return {
    outcomes,
    indexes,
    indexer,
    search,
    index: async (owner, path, text, meta = {}) => {
      const author = meta.author ?? owner;
      const plan = await w.files.planWrite({
        owner,
        path,
        contentType: 'text/plain',
        author,
        conditions: {},
      });
      let { info } = await w.files.commitWrite(plan, bytesOf(text));
      if (meta.tags !== undefined || meta.description !== undefined) {
        info = await w.files.patch(owner, owner, path, {
          ...(meta.tags === undefined ? {} : { tags: meta.tags }),
          ...(meta.description === undefined ? {} : { description: meta.description }),
        });
      }
      // As the processing pipeline does: the text beside the version's derived data, then the index.
      if (text !== '') await w.store.put(derivedKey(owner, path, info.etag, TEXT_NAME), Buffer.from(text));
      outcomes.set(`${owner}/${path}`, await indexer.upsert(owner, documentOf(info, text)));
      return info;
    },
    query: (actor, owner, q, limit) => search.query(actor, owner, q, limit),
  };
}

/** Every stored shard of `owner`'s index, key and bytes (to put back later, as an erasure under way would leave them). */
export async function storedShards(
  store: ObjectStore,
  owner: string,
): Promise<{ key: string; body: Buffer }[]> {
  const { items } = await store.list(searchRoot(owner));
  return Promise.all(
    items.map(async ({ key }) => ({ key, body: (await store.get(key))?.body ?? Buffer.alloc(0) })),
  );
}

/** The parsed shards of `owner`'s index. */
export async function parsedShards(store: ObjectStore, owner: string): Promise<PodIndex[]> {
  return (await storedShards(store, owner)).map(({ body }) => PodIndex.parse(body));
}
