/**
 * A pod's full-text index (MiniSearch: BM25, prefix and fuzzy search, serialisable), in SEARCH_SHARDS
 * objects per pod, a file's entry in the shard its path hashes to (so an update rewrites a sixteenth of
 * the pod's index, and shards of one pod are updated in parallel):
 *
 *   users/<owner>/search/shard-<nn>.json   { format, incarnation, entries: {path: {etag, updatedAt}}, index }
 *
 * The document is tied to the account's incarnation: an index written for an earlier account of the same
 * name is never searched, and the next update overwrites it. Words come from the file's name, folders,
 * tags, description, author and extracted text; the text itself is not stored in the index.
 */
import MiniSearch, { type AsPlainObject, type Options, type SearchResult } from 'minisearch';
import { WORD_SEPARATOR } from '../../protocol/search.ts';
import { pathId } from '../processing/derived-keys.ts';
import { foldersOf, type IndexEntry, type SearchDocument } from './search-document.ts';

/** Shards of every pod's index. Changing it needs the indexes built again (the format changes with it). */
export const SEARCH_SHARDS = 16;
export const searchRoot = (owner: string) => `users/${owner}/search/`;
export const shardKey = (owner: string, shard: number) =>
  `${searchRoot(owner)}shard-${String(shard).padStart(2, '0')}.json`;
/** The shard of a path: its path id (derived-keys.ts) modulo the shards. */
export const shardOf = (path: string) => Number.parseInt(pathId(path).slice(0, 8), 16) % SEARCH_SHARDS;

const FORMAT = 2;

/** The indexed fields, and how much a match in each counts. */
export const FIELD_BOOSTS = { name: 3, tags: 2, description: 1.5, folders: 1, author: 1, text: 1 } as const;
export type IndexedField = keyof typeof FIELD_BOOSTS;
const FIELDS = Object.keys(FIELD_BOOSTS) as IndexedField[];

type Indexed = { path: string } & Record<IndexedField, string>;

/** Discarded entries (replaced or removed files) left in the engine before it is compacted. */
const VACUUM_MIN_DIRT = 64;
const VACUUM_MIN_FACTOR = 0.1;

const ENGINE_OPTIONS: Options<Indexed> = {
  idField: 'path',
  fields: FIELDS,
  storeFields: [],
  tokenize: (text) => text.split(WORD_SEPARATOR),
  processTerm: (term) => (term === '' ? null : term.toLowerCase()),
  autoVacuum: false,
};

/**
 * How a query is run: words of 3 characters or more also match as prefixes, of 5 or more also with one
 * typo; a file matching more of the words ranks higher.
 */
export const QUERY_OPTIONS = {
  boost: FIELD_BOOSTS,
  prefix: (term: string) => term.length >= 3,
  fuzzy: (term: string) => (term.length >= 5 ? 0.2 : false),
  maxFuzzy: 1,
  combineWith: 'OR',
} as const;

interface StoredIndex {
  format: number;
  incarnation: string;
  entries: Record<string, IndexEntry>;
  index: AsPlainObject;
}

export class IndexFormatError extends Error {
  override name = 'IndexFormatError';
}

export class PodIndex {
  private constructor(
    readonly incarnation: string,
    private readonly engine: MiniSearch<Indexed>,
    private readonly byPath: Map<string, IndexEntry>,
  ) {}

  static empty(incarnation: string): PodIndex {
    return new PodIndex(incarnation, new MiniSearch(ENGINE_OPTIONS), new Map());
  }

  static parse(body: Buffer): PodIndex {
    const stored = JSON.parse(body.toString('utf8')) as StoredIndex;
    if (stored.format !== FORMAT || typeof stored.incarnation !== 'string') {
      throw new IndexFormatError(`unknown index format ${String(stored.format)}`);
    }
    return new PodIndex(
      stored.incarnation,
      MiniSearch.loadJS(stored.index, ENGINE_OPTIONS),
      new Map(Object.entries(stored.entries)),
    );
  }

  serialize(): Buffer {
    const stored: StoredIndex = {
      format: FORMAT,
      incarnation: this.incarnation,
      entries: Object.fromEntries(this.byPath),
      index: this.engine.toJSON(),
    };
    return Buffer.from(JSON.stringify(stored));
  }

  get size(): number {
    return this.byPath.size;
  }

  entry(path: string): IndexEntry | undefined {
    return this.byPath.get(path);
  }

  paths(): IterableIterator<string> {
    return this.byPath.keys();
  }

  /**
   * Adds or replaces the file's entry (its text already bounded); false when nothing changed: the same
   * version is indexed, or a newer one (an upsert that arrives late never rolls the entry back).
   */
  upsert(doc: SearchDocument): boolean {
    const current = this.byPath.get(doc.path);
    if (current !== undefined) {
      if (current.etag === doc.etag || current.updatedAt > doc.updatedAt) return false;
      this.engine.discard(doc.path);
    }
    this.engine.add({
      path: doc.path,
      name: doc.name,
      folders: foldersOf(doc.path),
      tags: doc.tags.join(' '),
      description: doc.description,
      author: doc.author ?? '',
      text: doc.text,
    });
    this.byPath.set(doc.path, { etag: doc.etag, updatedAt: doc.updatedAt });
    return true;
  }

  /** Removes the file's entry; false when there was none. */
  remove(path: string): boolean {
    if (!this.byPath.delete(path)) return false;
    this.engine.discard(path);
    return true;
  }

  /** Compacts the engine once enough entries were discarded. */
  async compact(): Promise<void> {
    const dirt = this.engine.dirtCount;
    if (dirt >= VACUUM_MIN_DIRT && dirt / (this.engine.documentCount + dirt) >= VACUUM_MIN_FACTOR) {
      await this.engine.vacuum({ batchSize: Number.MAX_SAFE_INTEGER, batchWait: 0 });
    }
  }

  /** Every file matching `query`, best first (scores from the whole pod's statistics). */
  search(query: string): SearchResult[] {
    return this.engine.search(query, QUERY_OPTIONS);
  }
}
