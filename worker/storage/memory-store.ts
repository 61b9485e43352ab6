/**
 * ObjectStore in this process's memory, for tests and local experiments only: nothing survives the
 * process, and nothing is shared between processes (two workers would see two different stores). It
 * passes the same contract suite as the S3 and filesystem adapters (test/helpers/object-store-contract.ts),
 * so services can be unit-tested on it without MinIO.
 *
 * Every operation runs its checks and its change in one synchronous step, so conditional writes are
 * atomic. An object is kept as the list of chunks it was written in (a streamed object is never
 * copied into one big buffer); bodies handed in or out are copies, so a caller changing a Buffer
 * later cannot change what is stored. Readers of getStream keep the version they opened.
 *
 * `failWith(error)` makes every later operation reject with that error (e.g. a
 * StorageUnavailableError) until `failWith(undefined)`: tests of how a service answers a storage outage.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { assertByteRange } from './body-stream.ts';
import { bareEtag } from './etag-text.ts';
import {
  type ByteRange,
  type ChildEntry,
  type ChildPage,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
  PreconditionFailedError,
  type PutOptions,
  type StoredObject,
} from './object-store.ts';
import { sourceChunks, unwrapSourceError } from './source-chunks.ts';
import { assertStorableKey, compareKeys, prefixCanMatch } from './storable-key.ts';

const DEFAULT_LIST_LIMIT = 1000;
/** getStream hands out bodies in pieces of at most this many bytes. */
const READ_CHUNK_BYTES = 64 * 1024;

interface Entry {
  chunks: Buffer[];
  size: number;
  etag: string;
  lastModified: Date;
  contentType: string;
}

export class MemoryObjectStore implements ObjectStore {
  readonly kind = 'memory' as const;
  readonly #objects = new Map<string, Entry>();
  /** Makes etags unique across stores, so a tag from one store never matches in another. */
  readonly #tagPrefix = randomBytes(4).toString('hex');
  #writes = 0;
  #failure: Error | undefined;

  /** Every later operation rejects with `error`; `undefined` heals the store. */
  failWith(error: Error | undefined): void {
    this.#failure = error;
  }

  /** How many objects are stored (for tests). */
  get size(): number {
    return this.#objects.size;
  }

  async init(): Promise<void> {
    this.#check();
  }

  async ping(): Promise<void> {
    this.#check();
  }

  async get(key: string): Promise<StoredObject | undefined> {
    assertStorableKey(key);
    this.#check();
    const entry = this.#objects.get(key);
    return entry && { ...infoOf(key, entry), body: Buffer.concat(entry.chunks, entry.size) };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertStorableKey(key);
    this.#check();
    const entry = this.#objects.get(key);
    return entry && infoOf(key, entry);
  }

  async put(key: string, body: Buffer, options: PutOptions = {}): Promise<{ etag: string }> {
    assertStorableKey(key);
    this.#check();
    const current = this.#objects.get(key);
    if (options.ifNoneMatch === '*') {
      if (options.ifMatch !== undefined)
        throw new PreconditionFailedError(`${key}: If-Match with If-None-Match: *`);
      if (current !== undefined) throw new PreconditionFailedError(`${key} already exists`);
    }
    if (options.ifMatch !== undefined && current?.etag !== bareEtag(options.ifMatch)) {
      throw new PreconditionFailedError(`${key} does not have etag ${options.ifMatch}`);
    }
    const chunks = body.length === 0 ? [] : [Buffer.from(body)];
    return { etag: this.#store(key, chunks, body.length, options.contentType).etag };
  }

  async delete(key: string): Promise<boolean> {
    assertStorableKey(key);
    this.#check();
    return this.#objects.delete(key);
  }

  async discard(key: string): Promise<void> {
    await this.delete(key);
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ListPage> {
    this.#check();
    const limit = pageLimit(options.limit);
    if (!prefixCanMatch(prefix)) return { items: [] };
    const startAfter = options.startAfter || undefined;
    const keys = [...this.#objects.keys()]
      .filter(
        (key) => key.startsWith(prefix) && (startAfter === undefined || compareKeys(key, startAfter) > 0),
      )
      .sort(compareKeys);
    const items: ObjectInfo[] = [];
    for (const key of keys.slice(0, limit)) {
      const entry = this.#objects.get(key);
      if (entry !== undefined) items.push(infoOf(key, entry));
    }
    return keys.length > limit ? { items, next: items.at(-1)?.key } : { items };
  }

  async putStream(
    key: string,
    source: AsyncIterable<Buffer>,
    options: { contentType?: string } = {},
  ): Promise<{ etag: string; size: number }> {
    assertStorableKey(key);
    this.#check();
    return unwrapSourceError(async () => {
      const chunks: Buffer[] = [];
      let size = 0;
      // Copies, one chunk at a time: a source may reuse its buffers once it has yielded them.
      for await (const chunk of sourceChunks(source)) {
        chunks.push(Buffer.from(chunk));
        size += chunk.length;
      }
      this.#check();
      // The object appears only now, whole: readers saw the previous version until here.
      const { etag } = this.#store(key, chunks, size, options.contentType);
      return { etag, size };
    });
  }

  async getStream(key: string, range?: ByteRange): Promise<{ info: ObjectInfo; body: Readable } | undefined> {
    assertStorableKey(key);
    if (range !== undefined) assertByteRange(range);
    this.#check();
    const entry = this.#objects.get(key);
    if (entry === undefined) return undefined;
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? entry.size - 1, entry.size - 1);
    return {
      info: infoOf(key, entry),
      body: Readable.from(slices(entry.chunks, start, end), { objectMode: false }),
    };
  }

  async listChildren(
    prefix: string,
    options: { startAfter?: string; limit?: number } = {},
  ): Promise<ChildPage> {
    this.#check();
    const limit = pageLimit(options.limit);
    if (!prefixCanMatch(prefix)) return { entries: [] };
    const startAfter = options.startAfter || undefined;
    // Like S3 with delimiter `/`: a key with a `/` after the prefix rolls up into the prefix up to it.
    const texts = new Map<string, ChildEntry>();
    for (const [key, entry] of this.#objects) {
      if (!key.startsWith(prefix)) continue;
      const slash = key.indexOf('/', prefix.length);
      const child: ChildEntry =
        slash === -1
          ? { kind: 'object', info: infoOf(key, entry) }
          : { kind: 'prefix', prefix: key.slice(0, slash + 1) };
      const text = child.kind === 'object' ? child.info.key : child.prefix;
      if (startAfter !== undefined && compareKeys(text, startAfter) <= 0) continue;
      texts.set(text, child);
    }
    const ordered = [...texts.keys()].sort(compareKeys);
    const entries = ordered.slice(0, limit).flatMap((text) => texts.get(text) ?? []);
    return ordered.length > limit ? { entries, next: ordered[limit - 1] } : { entries };
  }

  async deletePrefix(prefix: string): Promise<number> {
    this.#check();
    if (!prefixCanMatch(prefix)) return 0;
    let deleted = 0;
    for (const key of [...this.#objects.keys()]) {
      if (key.startsWith(prefix) && this.#objects.delete(key)) deleted++;
    }
    return deleted;
  }

  async deleteMany(keys: string[]): Promise<void> {
    for (const key of keys) assertStorableKey(key);
    this.#check();
    for (const key of keys) this.#objects.delete(key);
  }

  async close(): Promise<void> {}

  #check(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  #store(key: string, chunks: Buffer[], size: number, contentType = 'application/octet-stream'): Entry {
    this.#writes++;
    const entry: Entry = {
      chunks,
      size,
      etag: `${this.#tagPrefix}${this.#writes.toString(16).padStart(8, '0')}`,
      lastModified: new Date(),
      contentType,
    };
    this.#objects.set(key, entry);
    return entry;
  }
}

function infoOf(key: string, entry: Entry): ObjectInfo {
  return { key, etag: entry.etag, size: entry.size, lastModified: new Date(entry.lastModified) };
}

function pageLimit(limit: number | undefined): number {
  return Math.max(1, Math.floor(limit ?? DEFAULT_LIST_LIMIT));
}

/** The bytes `start..end` (inclusive) of an object kept as `chunks`, as copies of at most READ_CHUNK_BYTES. */
function* slices(chunks: Buffer[], start: number, end: number): Generator<Buffer> {
  let offset = 0;
  for (const chunk of chunks) {
    const from = Math.max(start, offset);
    const to = Math.min(end + 1, offset + chunk.length);
    for (let at = from; at < to; at += READ_CHUNK_BYTES) {
      yield Buffer.from(chunk.subarray(at - offset, Math.min(to, at + READ_CHUNK_BYTES) - offset));
    }
    offset += chunk.length;
    if (offset > end) return;
  }
}
