/**
 * Brings one pod file's derived data in line with the file as it is now: its previews, its extracted
 * text, its entry in the pod's search index, its processing status; and removes what belongs to versions
 * that are gone. A job names only the file (owner and path): whatever event caused it, the pipeline reads
 * the current record, so jobs are idempotent, may run twice or out of order, and a job for an old version
 * does the work of the newest (or nothing, if it is already done).
 *
 * Derived data is keyed by the source's ETag (derived-keys.ts) and written under the pod's account guard
 * (an account erased meanwhile gets nothing written back). After the work the record is read again: if
 * the file changed meanwhile, what was written for the old version is removed and the newest is done.
 */
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { Logger } from '../../runtime/logger.ts';
import { type FileRecord, fileKey, parseRecord } from '../files/file-record.ts';
import type { SearchDocument } from '../search/search-document.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { Observation, PodWriteGuard } from '../users/incarnation.ts';
import { derivedKey, derivedPrefix, TEXT_NAME, versionPrefix } from './derived-keys.ts';
import { type ProcessingStatus, readStatus, writeStatus } from './processing-status.ts';

/** What the pipeline needs from the media library (worker/processing/processing-toolkit.ts wires it). */
export interface MediaToolkit {
  /** The kind of the bytes from their first bytes and declared type; undefined when not processable. */
  detectKind(head: Uint8Array, declaredType: string, name: string): string | undefined;
  previewKinds: ReadonlySet<string>;
  textKinds: ReadonlySet<string>;
  previewSizes: readonly number[];
  maxInputBytes: number;
  /** Makes previews and text in a bounded sandbox; throws a Refusal (with a code) for a hostile or broken file. */
  run(job: {
    bytes: Uint8Array;
    kind: string;
    previews: boolean;
    text: boolean;
  }): Promise<{ previews: Map<number, Buffer>; text?: string }>;
  /** True for an error that retrying cannot cure (the file's own fault); its code is the reason. */
  refusalCode(error: unknown): string | undefined;
}

/** A pod's search index (worker/search/). */
export interface SearchIndexer {
  /**
   * `recordChecked`: the caller read this version's record and reads it again afterwards (pod-indexer.ts).
   * Resolves to what the index took of the file: all of it, all but its words, or nothing (a full index).
   */
  upsert(
    owner: string,
    doc: SearchDocument,
    options?: { recordChecked?: boolean },
  ): Promise<'full' | 'without-text' | 'none' | undefined>;
  remove(owner: string, path: string): Promise<void>;
}

export type ReconcileResult = 'processed' | 'indexed' | 'removed' | 'account-gone';

export const PREVIEW_FORMAT = { extension: 'webp', contentType: 'image/webp' } as const;
export const previewName = (size: number) => `preview-${size}.${PREVIEW_FORMAT.extension}`;

/** How many times one job follows a file that keeps changing under it before leaving it to the next job. */
const MAX_ROUNDS = 3;
const HEAD_BYTES = 4096;

export class ProcessingPipeline {
  constructor(
    private readonly store: ObjectStore,
    private readonly podWrites: PodWriteGuard,
    private readonly media: MediaToolkit,
    private readonly index: SearchIndexer | undefined,
    private readonly logger: Logger,
  ) {}

  /** Processes the file at `path` as it is now; `incarnation`: the event's, skipped if the account is another. */
  async reconcile(owner: string, path: string, incarnation?: string): Promise<ReconcileResult> {
    let seen: Observation;
    try {
      seen = await this.podWrites.observe(owner);
    } catch (error) {
      if (error instanceof CommandError && error.code === ErrorCode.NOT_FOUND) return 'account-gone';
      throw error;
    }
    if (incarnation !== undefined && seen.incarnation.id !== incarnation) return 'account-gone';
    try {
      for (let round = 1; ; round++) {
        const outcome = await this.#once(owner, path, seen);
        if (outcome !== 'superseded') return outcome;
        if (round >= MAX_ROUNDS) return 'processed'; // a newer job follows the newer version
      }
    } catch (error) {
      if (error instanceof CommandError && error.code === ErrorCode.NOT_FOUND) return 'account-gone';
      throw error;
    }
  }

  /** Marks the file's current version failed for good (its job was parked); nothing if the file is gone. */
  async markFailed(owner: string, path: string, reason: string): Promise<void> {
    const record = await this.#record(owner, path);
    if (record === undefined) return;
    const seen = await this.podWrites.observe(owner);
    const status: ProcessingStatus = {
      etag: record.etag,
      previews: [],
      text: false,
      ...failed(reason, 'processing did not finish after repeated attempts'),
    };
    await this.#store(owner, record, seen, status, new Map());
  }

  async #once(owner: string, path: string, seen: Observation): Promise<ReconcileResult | 'superseded'> {
    const record = await this.#record(owner, path);
    if (record === undefined) {
      await this.#removeVersions(owner, path, undefined);
      await this.index?.remove(owner, path);
      return 'removed';
    }
    // What earlier versions left goes first, so that once this version's status says it is processed,
    // its derived data is all the file has. The same listing says whether this version has a status.
    const hasOwn = await this.#removeVersions(owner, path, record.etag);
    let status = hasOwn ? await readStatus(this.store, owner, path, record.etag) : undefined;
    const fresh = status === undefined;
    // The text just made is handed on; one made by an earlier run is read back.
    const made: { text?: string } = {};
    if (status === undefined) status = await this.#process(owner, record, seen, made);
    const text = !status.text ? '' : (made.text ?? (await this.#text(owner, path, record.etag)));
    // The record was read above and is read again below (which takes the entry out if it changed).
    const indexed = await this.index?.upsert(owner, searchDocument(record, text), { recordChecked: true });
    const coverage = indexed === 'without-text' || indexed === 'none' ? indexed : undefined;
    if (indexed !== undefined && coverage !== status.search) {
      // The status says whether search finds the file fully (rarely otherwise: the pod's index is full).
      const { search: _was, ...rest } = status;
      status = await this.#store(
        owner,
        record,
        seen,
        coverage === undefined ? rest : { ...rest, search: coverage },
        new Map(),
      );
    }
    const now = await this.#record(owner, path);
    if (now?.etag !== record.etag) {
      await this.#removeVersions(owner, path, now?.etag);
      if (now === undefined) {
        await this.index?.remove(owner, path);
        return 'removed';
      }
      return 'superseded';
    }
    return fresh ? 'processed' : 'indexed';
  }

  /** Runs the media work for the record's version and stores its results and status. */
  async #process(
    owner: string,
    record: FileRecord,
    seen: Observation,
    made: { text?: string },
  ): Promise<ProcessingStatus> {
    const base = { etag: record.etag, previews: [] as number[], text: false };
    const done = (status: ProcessingStatus) => this.#store(owner, record, seen, status, new Map());
    if (record.size > this.media.maxInputBytes) {
      return done({ ...base, ...failed('too_large', `the file is over ${this.media.maxInputBytes} bytes`) });
    }
    const bytes = await this.#bytes(owner, record);
    if (bytes === undefined) return done({ ...base, state: 'done', at: new Date().toISOString() });
    const kind = this.media.detectKind(
      bytes.subarray(0, HEAD_BYTES),
      record.contentType,
      record.path.slice(record.path.lastIndexOf('/') + 1),
    );
    const wantPreviews = kind !== undefined && this.media.previewKinds.has(kind);
    const wantText = kind !== undefined && this.media.textKinds.has(kind);
    if (kind === undefined || (!wantPreviews && !wantText)) {
      return done({
        ...base,
        state: 'done',
        ...(kind === undefined ? {} : { kind }),
        at: new Date().toISOString(),
      });
    }
    try {
      const result = await this.media.run({ bytes, kind, previews: wantPreviews, text: wantText });
      const objects = new Map<string, Buffer>();
      for (const [size, image] of result.previews) objects.set(previewName(size), image);
      if (result.text !== undefined) objects.set(TEXT_NAME, Buffer.from(result.text, 'utf8'));
      const status: ProcessingStatus = {
        ...base,
        state: 'done',
        kind,
        previews: [...result.previews.keys()].sort((a, b) => a - b),
        text: result.text !== undefined,
        at: new Date().toISOString(),
      };
      await this.#store(owner, record, seen, status, objects);
      if (result.text !== undefined) made.text = result.text;
      return status;
    } catch (error) {
      const code = this.media.refusalCode(error);
      if (code === undefined) throw error; // not the file's fault: the job is retried
      this.logger.info({ owner, path: record.path, etag: record.etag, reason: code }, 'file not processed');
      return done({ ...base, kind, ...failed(code, (error as Error).message) });
    }
  }

  /** Writes the derived objects, then the status (which says they are complete), under the account guard. */
  async #store(
    owner: string,
    record: FileRecord,
    seen: Observation,
    status: ProcessingStatus,
    objects: Map<string, Buffer>,
  ): Promise<ProcessingStatus> {
    const prefix = versionPrefix(owner, record.path, record.etag);
    await this.podWrites.write(
      owner,
      seen,
      async () => {
        for (const [name, body] of objects)
          await this.store.put(derivedKey(owner, record.path, record.etag, name), body);
        await writeStatus(this.store, owner, record.path, status);
      },
      () => this.store.deletePrefix(prefix),
    );
    return status;
  }

  async #record(owner: string, path: string): Promise<FileRecord | undefined> {
    const object = await this.store.get(fileKey(owner, path));
    if (object === undefined) return undefined;
    const record = parseRecord(object.body);
    return record.deleting === undefined ? record : undefined;
  }

  /** The file's bytes; undefined when its blob is gone (the file was replaced or deleted meanwhile). */
  async #bytes(owner: string, record: FileRecord): Promise<Buffer | undefined> {
    if (record.inlineBytes !== undefined) return record.inlineBytes;
    if (record.blob === undefined) return Buffer.alloc(0);
    const object = await this.store.get(record.blob);
    if (object === undefined) this.logger.debug({ owner, path: record.path }, 'blob gone before processing');
    return object?.body;
  }

  async #text(owner: string, path: string, etag: string): Promise<string> {
    const object = await this.store.get(derivedKey(owner, path, etag, TEXT_NAME));
    return object?.body.toString('utf8') ?? '';
  }

  /**
   * Removes the derived data of every version of the file but `keep`, and says whether `keep` has any
   * (if not, it has no status to read). One LIST of the file's derived objects (a few per version) and,
   * when some are another version's, one batch delete.
   */
  async #removeVersions(owner: string, path: string, keep: string | undefined): Promise<boolean> {
    const prefix = derivedPrefix(owner, path);
    if (keep === undefined) {
      await this.store.deletePrefix(prefix);
      return false;
    }
    const kept = `${prefix}${keep}/`;
    let hasKept = false;
    let startAfter: string | undefined;
    do {
      const page = await this.store.list(prefix, {
        limit: 1000,
        ...(startAfter === undefined ? {} : { startAfter }),
      });
      const others = page.items.map((item) => item.key).filter((key) => !key.startsWith(kept));
      if (others.length < page.items.length) hasKept = true;
      if (others.length > 0) await this.store.deleteMany(others);
      startAfter = page.next;
    } while (startAfter !== undefined);
    return hasKept;
  }
}

const failed = (reason: string, detail: string) => ({
  state: 'failed' as const,
  reason,
  detail,
  at: new Date().toISOString(),
});

export function searchDocument(record: FileRecord, text: string): SearchDocument {
  return {
    path: record.path,
    etag: record.etag,
    name: record.path.slice(record.path.lastIndexOf('/') + 1),
    text,
    tags: record.tags,
    description: record.description,
    author: record.author,
    contentType: record.contentType,
    updatedAt: record.updatedAt,
    size: record.size,
  };
}

/** The key of a made preview. */
export const previewKey = (owner: string, path: string, etag: string, size: number) =>
  derivedKey(owner, path, etag, previewName(size));
