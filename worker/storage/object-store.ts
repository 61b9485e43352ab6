/**
 * The object store seen by the worker: a flat key space of small-to-medium objects with conditional
 * writes. Two adapters implement it: S3 (MinIO or any S3) and the local filesystem; a third, in memory
 * (memory-store.ts), serves tests. All pass the same contract suite (test/helpers/object-store-contract.ts).
 *
 * Keys are `/`-separated, never start with `/`, and have no empty, `.` or `..` segment. Adapters also
 * refuse keys over 1024 bytes or with a segment over 255 bytes (storable-key.ts).
 *
 * A key must not also be a folder of other keys (`a` together with `a/b`): MinIO stores objects as
 * folders, and once `a` exists it no longer lists (or deletes by prefix) the keys under `a/`. Callers
 * keep file and folder names apart, as the HTTP contract requires anyway.
 */
export interface ObjectInfo {
  key: string;
  /**
   * Opaque version tag, bare (no surrounding quotes; the api adds them for the HTTP ETag header, and
   * `ifMatch` accepts it bare or quoted). Changes whenever the stored bytes change; S3 derives it from
   * the content, so rewriting identical bytes may keep it.
   */
  etag: string;
  size: number;
  lastModified: Date;
}

export interface StoredObject extends ObjectInfo {
  body: Buffer;
}

export interface PutOptions {
  /** Write only if the current version has this etag (else PreconditionFailedError). */
  ifMatch?: string;
  /** `*`: write only if the key does not exist (else PreconditionFailedError). */
  ifNoneMatch?: '*';
  contentType?: string;
}

export interface ListPage {
  items: ObjectInfo[];
  /** Pass as `startAfter` to get the next page; absent on the last page. */
  next?: string;
}

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A direct child of a folder prefix: an object, or a deeper prefix (ending with `/`). */
export type ChildEntry = { kind: 'object'; info: ObjectInfo } | { kind: 'prefix'; prefix: string };

export interface ChildPage {
  /** In ascending byte order of key (a prefix sorts as its text, e.g. `a/b/`). */
  entries: ChildEntry[];
  /** Pass as `startAfter` for the next page; absent on the last page. */
  next?: string;
}

export interface ObjectStore {
  readonly kind: 's3' | 'fs' | 'memory';
  /** Creates the bucket or folder if missing. Idempotent. */
  init(): Promise<void>;
  /** Resolves when the store answers; rejects with StorageUnavailableError otherwise. */
  ping(): Promise<void>;
  get(key: string): Promise<StoredObject | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Atomic: readers see the old object or the new one, never a part. */
  put(key: string, body: Buffer, options?: PutOptions): Promise<{ etag: string }>;
  /** Resolves true if the key existed. */
  delete(key: string): Promise<boolean>;
  /** Deletes the key if it exists, without telling whether it did (S3: one request, not two). */
  discard(key: string): Promise<void>;
  /** Keys under `prefix`, in ascending byte order of key, at most `limit` per page. */
  list(prefix: string, options?: { startAfter?: string; limit?: number }): Promise<ListPage>;
  /**
   * Streams `source` into `key`, unconditionally (for keys nobody else writes, e.g. content blobs).
   * Atomic like put; memory stays bounded whatever the size (S3: a single PUT up to one part, else a
   * multipart upload with bounded parts). If `source` throws, nothing becomes visible and the error
   * propagates (S3: the multipart upload is aborted).
   */
  putStream(
    key: string,
    source: AsyncIterable<Buffer>,
    options?: { contentType?: string },
  ): Promise<{ etag: string; size: number }>;
  /** The object's bytes (all, or the inclusive `range`), read as a stream. Undefined when missing. */
  getStream(
    key: string,
    range?: ByteRange,
  ): Promise<{ info: ObjectInfo; body: NodeJS.ReadableStream } | undefined>;
  /** Direct children of `prefix` (`''` or ending with `/`): objects and deeper prefixes, like S3 with delimiter `/`. */
  listChildren(prefix: string, options?: { startAfter?: string; limit?: number }): Promise<ChildPage>;
  /** Deletes every key under `prefix`; resolves to how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** Deletes these keys (at most 1000; missing ones are fine), in one batch where the store allows it. */
  deleteMany(keys: string[]): Promise<void>;
  close(): Promise<void>;
}

export class PreconditionFailedError extends Error {
  override name = 'PreconditionFailedError';
}

/** The store cannot be reached, or failed in a way a retry later may fix. */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
}

export class InvalidKeyError extends Error {
  override name = 'InvalidKeyError';
}

/** Throws InvalidKeyError unless `key` is a well-formed object key (see the module comment). */
export function assertValidKey(key: string): void {
  if (key.length === 0 || Buffer.byteLength(key) > 2048) throw new InvalidKeyError('key length out of range');
  if (key.startsWith('/')) throw new InvalidKeyError('key starts with /');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new InvalidKeyError('key has a control character');
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..')
      throw new InvalidKeyError(`bad key segment in ${key}`);
  }
}
