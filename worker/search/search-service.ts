/**
 * Search of a pod (`search.query`). The owner searches the whole pod; a grantee only the files it may
 * read now: every other file is dropped before anything about the answer is made (paths, names, scores,
 * snippets, ranking), and its hits are ranked from what it may read alone (visible-ranking.ts). A caller
 * who may read nothing in the pod is refused (403) before the pod is looked at. Every hit is checked
 * against the file's live record: a file deleted or changed since it was indexed never shows.
 */
import type { SearchResult } from 'minisearch';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import {
  DEFAULT_SEARCH_LIMIT,
  limitProblem,
  queryProblem,
  type SearchAnswer,
  type SearchHit,
  type Snippet,
  wordsOf,
} from '../../protocol/search.ts';
import type { AccessService, Holding } from '../access/access-service.ts';
import { deleteClaimLive, type FileRecord, fileKey, parseRecord } from '../files/file-record.ts';
import { derivedKey, TEXT_NAME } from '../processing/derived-keys.ts';
import { PROCESSING_OFF_DETAIL } from '../processing/processing-status.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { IncarnationReader } from '../users/incarnation.ts';
import { type PodIndex, shardOf } from './pod-index.ts';
import type { PodIndexStore } from './pod-index-store.ts';
import { snippetOf } from './snippet.ts';
import { rankWithinReadable } from './visible-ranking.ts';

/** Live records read at once while checking hits. */
const CHECK_CONCURRENCY = 16;

export class SearchService {
  constructor(
    private readonly store: ObjectStore,
    private readonly indexes: PodIndexStore,
    private readonly access: AccessService,
    private readonly incarnations: IncarnationReader,
    private readonly clock: () => Date = () => new Date(),
    /** False where files are never indexed (no NATS, so no processing job): a search is processing_off. */
    private readonly indexed = true,
  ) {}

  async query(
    actor: string | null,
    owner: string,
    q: string,
    limit = DEFAULT_SEARCH_LIMIT,
  ): Promise<SearchAnswer> {
    const problem = queryProblem(q) ?? limitProblem(limit);
    if (problem !== undefined) throw new CommandError(ErrorCode.INVALID, problem);
    const holding = await this.access.holding(actor, owner);
    const readable = this.#readableTest(holding);
    const incarnation = await this.incarnations.current(owner);
    if (incarnation === undefined) throw new CommandError(ErrorCode.NOT_FOUND, `no user named ${owner}`);
    if (!this.indexed) throw new CommandError(ErrorCode.PROCESSING_OFF, PROCESSING_OFF_DETAIL);
    // A shard written for an earlier account of this name is never searched.
    const byShard = (await this.indexes.loadAll(owner)).map(({ index }) =>
      index !== undefined && index.incarnation === incarnation.id ? index : undefined,
    );
    const shards = byShard.filter((index): index is PodIndex => index !== undefined);
    const etagOf = (path: string) => byShard[shardOf(path)]?.entry(path)?.etag;
    const matches = shards.flatMap((index) => index.search(q));
    let ranked: { result: SearchResult; score: number }[];
    if (holding.owner) {
      // Each shard's BM25 uses its own statistics: with paths spread evenly, close to the pod's.
      ranked = matches.map((result) => ({ result, score: result.score })).sort((a, b) => b.score - a.score);
    } else {
      const visible = matches.filter((result) => readable(result.id as string));
      let readableCount = 0;
      for (const index of shards) for (const path of index.paths()) if (readable(path)) readableCount++;
      ranked = rankWithinReadable(visible, readableCount, new Set(wordsOf(q)));
    }

    const items: SearchHit[] = [];
    const maxChecks = limit * 4 + CHECK_CONCURRENCY;
    for (let i = 0; i < ranked.length && i < maxChecks && items.length < limit; i += CHECK_CONCURRENCY) {
      const batch = ranked.slice(i, Math.min(i + CHECK_CONCURRENCY, maxChecks));
      const checked = await Promise.all(
        batch.map(async ({ result, score }) => {
          const path = result.id as string;
          const record = await this.#liveRecord(owner, path, etagOf(path));
          return record === undefined ? undefined : this.#hit(owner, record, result, score);
        }),
      );
      for (const hit of checked) if (hit !== undefined && items.length < limit) items.push(hit);
    }
    return { items };
  }

  /** Whether the caller may read a path; FORBIDDEN when it may read nothing in the pod. */
  #readableTest(holding: Holding): (path: string) => boolean {
    if (holding.owner) return () => true;
    const readsSomewhere = holding.entries.some(
      (entry) => this.access.modes(holding, entry.scope.slice(1))?.has('read') === true,
    );
    if (!readsSomewhere) throw new CommandError(ErrorCode.FORBIDDEN, 'you may read nothing in this pod');
    return (path) => this.access.modes(holding, path)?.has('read') === true;
  }

  /** The file's record if it is still the indexed version (and no delete has claimed it). */
  async #liveRecord(owner: string, path: string, etag: string | undefined): Promise<FileRecord | undefined> {
    if (etag === undefined) return undefined;
    const object = await this.store.get(fileKey(owner, path));
    if (object === undefined) return undefined;
    const record = parseRecord(object.body);
    if (record.etag !== etag || deleteClaimLive(record, this.clock())) return undefined;
    return record;
  }

  async #hit(owner: string, record: FileRecord, result: SearchResult, score: number): Promise<SearchHit> {
    const name = record.path.slice(record.path.lastIndexOf('/') + 1);
    return {
      path: record.path,
      name,
      score: Math.round(score * 1000) / 1000,
      snippet: (await this.#snippet(owner, record, name, result)) ?? null,
      contentType: record.contentType,
      size: record.size,
      updatedAt: record.updatedAt,
      etag: record.etag,
      author: record.author,
    };
  }

  /** From the hit's own text where a word matched there, else from its metadata. */
  async #snippet(
    owner: string,
    record: FileRecord,
    name: string,
    result: SearchResult,
  ): Promise<Snippet | undefined> {
    const terms = new Set(result.terms);
    const fields = new Set(Object.values(result.match).flat());
    if (fields.has('text')) {
      const text = await this.store.get(derivedKey(owner, record.path, record.etag, TEXT_NAME));
      const snippet = text === undefined ? undefined : snippetOf('text', text.body.toString('utf8'), terms);
      if (snippet !== undefined) return snippet;
    }
    return (
      snippetOf('description', record.description, terms) ??
      snippetOf('tags', record.tags.join(', '), terms) ??
      snippetOf('name', name, terms)
    );
  }
}
