/**
 * Keeps each pod's index up to date; the processing pipeline calls it after every committed write
 * (metadata patches too) and delete. Several workers update one pod's index at once: every update is a
 * read-modify-write of the file's shard conditional on the stored version, retried (bounded, jittered)
 * when another worker wrote first, so no update is lost. Within one process the updates of a shard queue
 * up and are written together (one read and one write for all that waited).
 *
 * A shard is bounded (`maxShardBytes` stored): an update that would take it over the bound is made
 * again without the new entries' text (they are found by name, folders and metadata only); if even
 * that is over, only entries already in the shard are updated and removed, none added. So one
 * tenant's pod costs a worker that loads it at most 16 × the bound, whatever the pod holds.
 *
 * The index belongs to the account's incarnation: an index of an earlier account of the same name is
 * replaced by an empty one before anything is added, and a pod whose account is gone is not indexed.
 * Shards are written under the pod's account guard (the worker's one PodWriteGuard): its remembered
 * sight of the account vouches for the write as for any other write into the pod, and a write that
 * outlived it looks again and removes the shard it wrote if the account is gone meanwhile.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { fileKey, parseRecord } from '../files/file-record.ts';
import { type ObjectStore, PreconditionFailedError } from '../storage/object-store.ts';
import type { Observation, PodWriteGuard } from '../users/incarnation.ts';
import { PodIndex, shardOf } from './pod-index.ts';
import type { PodIndexStore } from './pod-index-store.ts';
import { boundedText, type SearchDocument } from './search-document.ts';

export interface PodIndexerOptions {
  /** Characters of a file's text that are indexed (and kept for snippets). */
  maxTextChars: number;
  /** Conditional writes tried before an update gives up (IndexContentionError). */
  maxAttempts?: number;
  /** Updates of one pod written together at most. */
  maxBatch?: number;
  /** Stored bytes of one shard at most (see the class comment); default 2 MiB. */
  maxShardBytes?: number;
}

/**
 * What an upsert did with the file's entry: all of it (`full`), its name and metadata but not its
 * words (`without-text`: the shard was near its bound), or nothing (`none`: the shard is full).
 */
export type IndexOutcome = 'full' | 'without-text' | 'none';

/** How much of an update a shard near its bound still takes. */
export type IndexRoom = 'all' | 'without-text' | 'existing-only';
const ROOMS: readonly IndexRoom[] = ['all', 'without-text', 'existing-only'];

export class IndexContentionError extends Error {
  override name = 'IndexContentionError';
}

type Change = (index: PodIndex, room: IndexRoom) => boolean;
interface Waiting {
  change: Change;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class PodIndexer {
  readonly #queues = new Map<string, Waiting[]>();
  readonly #maxAttempts: number;
  readonly #maxBatch: number;
  readonly #maxShardBytes: number;

  constructor(
    private readonly store: ObjectStore,
    private readonly indexes: PodIndexStore,
    private readonly podWrites: PodWriteGuard,
    private readonly options: PodIndexerOptions,
  ) {
    this.#maxAttempts = options.maxAttempts ?? 12;
    this.#maxBatch = options.maxBatch ?? 256;
    this.#maxShardBytes = options.maxShardBytes ?? 2 * 1024 * 1024;
  }

  /**
   * Adds or replaces the file's entry (called after every committed write, metadata patches too).
   * Idempotent. Only the file's current version is indexed: a job that arrives after the file changed
   * again does nothing (the newer version's job indexes it), and one that arrives after the file was
   * deleted removes the entry instead, so that neither the entry nor the text outlives the file.
   * Resolves to what went into the index (IndexOutcome), undefined when the version is not current.
   *
   * `recordChecked`: the caller read the record of `doc.etag` just before, and reads it again after
   * this upsert, removing the entry (or indexing the newer version) when it changed meanwhile (the
   * processing pipeline does). The read here would only repeat the first, so it is skipped; searches
   * check every hit against the live record, so the entry of a version gone between the two reads is
   * never shown, and the caller's second read takes it out.
   */
  async upsert(
    owner: string,
    doc: SearchDocument,
    options: { recordChecked?: boolean } = {},
  ): Promise<IndexOutcome | undefined> {
    if (options.recordChecked !== true) {
      const current = await this.store.get(fileKey(owner, doc.path));
      if (current === undefined) {
        await this.remove(owner, doc.path);
        return undefined;
      }
      if (parseRecord(current.body).etag !== doc.etag) return undefined;
    }
    const bounded = { ...doc, text: boundedText(doc.text, this.options.maxTextChars) };
    const lean = { ...bounded, text: '' };
    // What the committed attempt did with this entry (a retried attempt runs the change again).
    let outcome: IndexOutcome = 'full';
    await this.#enqueue(owner, shardOf(doc.path), (index, room) => {
      if (room === 'all') {
        outcome = 'full';
        return index.upsert(bounded);
      }
      if (room === 'existing-only' && index.entry(doc.path) === undefined) {
        outcome = 'none';
        return false;
      }
      outcome = bounded.text === '' ? 'full' : 'without-text';
      return index.upsert(lean);
    });
    return outcome;
  }

  /** Removes the file's entry (called on delete). Idempotent. */
  async remove(owner: string, path: string): Promise<void> {
    await this.#enqueue(owner, shardOf(path), (index) => index.remove(path));
  }

  #enqueue(owner: string, shard: number, change: Change): Promise<void> {
    const key = `${owner}/${shard}`;
    return new Promise((resolve, reject) => {
      const queue = this.#queues.get(key);
      if (queue !== undefined) {
        queue.push({ change, resolve, reject });
        return;
      }
      this.#queues.set(key, [{ change, resolve, reject }]);
      void this.#drain(key, owner, shard);
    });
  }

  async #drain(key: string, owner: string, shard: number): Promise<void> {
    const queue = this.#queues.get(key) ?? [];
    while (queue.length > 0) {
      const batch = queue.splice(0, this.#maxBatch);
      try {
        await this.#commit(
          owner,
          shard,
          batch.map((waiting) => waiting.change),
        );
        for (const waiting of batch) waiting.resolve();
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
      }
    }
    this.#queues.delete(key);
  }

  async #commit(owner: string, shard: number, changes: Change[]): Promise<void> {
    let room = 0; // index into ROOMS: narrowed when an update would take the shard over its bound
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const seen = await this.#observe(owner);
      if (seen === undefined) return; // the account is gone: its pod goes, index included
      const incarnation = seen.incarnation;
      const loaded = await this.indexes.load(owner, shard);
      const reuse = loaded.index !== undefined && loaded.index.incarnation === incarnation.id;
      const index = reuse && loaded.index !== undefined ? loaded.index : PodIndex.empty(incarnation.id);
      let changed = !reuse && loaded.index !== undefined; // an earlier account's index is overwritten
      for (const change of changes) changed = change(index, ROOMS[room] as IndexRoom) || changed;
      if (!changed) return;
      await index.compact();
      const body = index.serialize();
      if (body.length > this.#maxShardBytes && room < ROOMS.length - 1) {
        // Over the bound: the changed copy is dropped, and the update made again with less.
        this.indexes.forget(owner, shard);
        room++;
        attempt--;
        continue;
      }
      try {
        await this.podWrites.write(
          owner,
          seen,
          () => this.indexes.write(owner, shard, index, loaded.etag, body),
          () => this.indexes.remove(owner, shard),
        );
        return;
      } catch (error) {
        if (isAccountGone(error)) return;
        if (!(error instanceof PreconditionFailedError)) throw error;
        // Another worker wrote first: read its version and apply the changes again.
        await sleep(Math.round(Math.random() * 20 * Math.min(attempt, 8)));
      }
    }
    throw new IndexContentionError(
      `shard ${shard} of the index of ${owner} kept changing under ${this.#maxAttempts} attempts`,
    );
  }

  /** The guard's sight of the pod's account (remembered for a moment); undefined when it is gone. */
  async #observe(owner: string): Promise<Observation | undefined> {
    try {
      return await this.podWrites.observe(owner);
    } catch (error) {
      if (isAccountGone(error)) return undefined;
      throw error;
    }
  }
}

const isAccountGone = (error: unknown) => error instanceof CommandError && error.code === ErrorCode.NOT_FOUND;
