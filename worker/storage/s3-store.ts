/**
 * ObjectStore on S3 (MinIO or any S3 server). The single-object calls every small request makes (get,
 * head, put, delete, discard) are signed requests of their own (s3-object-requests.ts); the rest
 * (listings, multipart uploads, streamed and ranged reads, bucket calls) go through the minio npm
 * package. Uses plain S3 only:
 * conditional writes are the PutObject `If-None-Match: *` and `If-Match` headers, which the server
 * enforces atomically (MinIO and AWS S3 both do).
 *
 * ETags are the server's, without quotes (for single-part uploads that is the MD5 of the body, so
 * writing identical bytes again keeps the same tag). Bodies are held in memory, so every put is one
 * PutObject request (never multipart, whose conditional headers S3 handles differently).
 *
 * putStream (s3-multipart.ts) sends a source up to one part as one PutObject and anything longer as a
 * multipart upload; the etag of such an object is not an MD5 of its bytes but `<hex>-<parts>`, and
 * depends on the part size. getStream takes the info from the GET's own response headers, and gives
 * its body a longer idle timeout (streamIdleTimeoutMs) than other requests, as a consumer may pause.
 * Listings use s3-list.ts.
 */
import http from 'node:http';
import type { Readable } from 'node:stream';
import { Client } from 'minio';
import { assertByteRange, emptyBody, guardedBody } from './body-stream.ts';
import { bareEtag } from './etag-text.ts';
import {
  type ByteRange,
  type ChildPage,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
  PreconditionFailedError,
  type PutOptions,
  StorageUnavailableError,
  type StoredObject,
} from './object-store.ts';
import { isMissingObjectError, translateS3Error } from './s3-errors.ts';
import { listChildKeys, listKeys, S3_LIST_BATCH } from './s3-list.ts';
import { MAX_PART_SIZE, MIN_PART_SIZE, OverlapBudget, uploadStream } from './s3-multipart.ts';
import { answerError, S3ObjectRequests } from './s3-object-requests.ts';
import { createTimedTransport, setResponseIdleTimeout } from './s3-transport.ts';
import { sourceChunks, unwrapSourceError } from './source-chunks.ts';
import { assertStorableKey, prefixCanMatch } from './storable-key.ts';

export interface S3StoreConfig {
  /** `http://host:port` or `https://host[:port]`. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region?: string;
  /** A request with no progress for this long fails with StorageUnavailableError. Default 5000. */
  requestTimeoutMs?: number;
  /**
   * putStream: bytes per part of a multipart upload, and the most it sends as one PutObject. Memory
   * per transfer is about one part, two for the uploads that send a part while filling the next
   * (`overlappedUploads`); an object can have at most 10,000 parts. Between 5 MiB and 5 GiB. Default 8 MiB.
   */
  partSize?: number;
  /**
   * putStream: how many uploads at once may send a part while they fill the next, each holding a second
   * part buffer (the others send their parts one after the other). Default 8: 64 MiB at the default
   * part size, whatever the number of uploads.
   */
  overlappedUploads?: number;
  /**
   * getStream: a body that moves no byte for this long (server stalled, or the consumer paused
   * reading) fails with StorageUnavailableError. Default 60000.
   */
  streamIdleTimeoutMs?: number;
}

const DEFAULT_LIST_LIMIT = 1000;
/** Most keys one DeleteObjects request handles. */
const S3_BATCH = S3_LIST_BATCH;
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const DEFAULT_OVERLAPPED_UPLOADS = 8;
const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 60_000;
/** S3 accepts single PUTs up to 5 GiB; setting the part size that high keeps every put single-part. */
const SINGLE_PUT_MAX = 5 * 1024 * 1024 * 1024;

export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  readonly #client: Client;
  readonly #objects: S3ObjectRequests;
  readonly #agent: http.Agent;
  readonly #region: string;
  readonly #partSize: number;
  readonly #overlap: OverlapBudget;
  readonly #streamIdleTimeoutMs: number;

  constructor(config: S3StoreConfig) {
    const url = new URL(config.endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`S3 endpoint must be http:// or https://, got ${config.endpoint}`);
    }
    if (url.pathname !== '/' && url.pathname !== '') {
      throw new Error(`S3 endpoint must not have a path, got ${config.endpoint}`);
    }
    const partSize = config.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
      throw new Error(
        `S3 partSize must be an integer from ${MIN_PART_SIZE} to ${MAX_PART_SIZE}, got ${partSize}`,
      );
    }
    const streamIdleTimeoutMs = config.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS;
    if (!(streamIdleTimeoutMs > 0)) {
      throw new Error(`S3 streamIdleTimeoutMs must be positive, got ${streamIdleTimeoutMs}`);
    }
    this.#partSize = partSize;
    const overlapped = config.overlappedUploads ?? DEFAULT_OVERLAPPED_UPLOADS;
    if (!Number.isSafeInteger(overlapped) || overlapped < 0) {
      throw new Error(`S3 overlappedUploads must be a whole number, got ${overlapped}`);
    }
    this.#overlap = new OverlapBudget(overlapped);
    this.#streamIdleTimeoutMs = streamIdleTimeoutMs;
    const { transport, agent, request } = createTimedTransport(url.protocol, config.requestTimeoutMs ?? 5000);
    this.bucket = config.bucket;
    this.#agent = agent;
    this.#region = config.region || 'us-east-1';
    this.#objects = new S3ObjectRequests({
      endpoint: url,
      bucket: config.bucket,
      accessKey: config.accessKey,
      secretKey: config.secretKey,
      region: this.#region,
      request,
    });
    this.#client = new Client({
      endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? undefined : Number(url.port),
      useSSL: url.protocol === 'https:',
      accessKey: config.accessKey,
      secretKey: config.secretKey,
      region: this.#region,
      pathStyle: true,
      partSize: SINGLE_PUT_MAX,
      transport,
      transportAgent: agent,
      // minio-js retries 5xx answers once after logging to the console; callers decide about retries.
      retryOptions: { disableRetry: true },
    });
  }

  async init(): Promise<void> {
    await this.#call('init', async () => {
      if (await this.#client.bucketExists(this.bucket)) return;
      try {
        await this.#client.makeBucket(this.bucket, this.#region);
      } catch (error) {
        // Another worker created it between our check and our request.
        const code = (error as { code?: string }).code;
        if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw error;
      }
    });
  }

  async ping(): Promise<void> {
    const exists = await this.#call('ping', () => this.#client.bucketExists(this.bucket));
    if (!exists) throw new StorageUnavailableError(`S3 store: bucket ${this.bucket} does not exist`);
  }

  async get(key: string): Promise<StoredObject | undefined> {
    assertStorableKey(key);
    return this.#call('get', async () => {
      const answer = await this.#objects.send('GET', key);
      if (answer.status === 404) return undefined;
      if (answer.status !== 200) throw answerError(answer, `get ${key}`);
      // The answer's own headers describe the very version whose body it carries (a separate HEAD could
      // see a newer version).
      return {
        key,
        etag: bareEtag(answer.headers.etag ?? ''),
        size: answer.body.length,
        lastModified: new Date(answer.headers['last-modified'] ?? 0),
        body: answer.body,
      };
    });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertStorableKey(key);
    return this.#call('head', () => this.#head(key));
  }

  async #head(key: string): Promise<ObjectInfo | undefined> {
    const answer = await this.#objects.send('HEAD', key);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw answerError(answer, `head ${key}`);
    const size = Number(answer.headers['content-length']);
    if (!Number.isSafeInteger(size)) throw answerError({ ...answer, status: 502 }, `head ${key}: no size`);
    return {
      key,
      etag: bareEtag(answer.headers.etag ?? ''),
      size,
      lastModified: new Date(answer.headers['last-modified'] ?? 0),
    };
  }

  async put(key: string, body: Buffer, options: PutOptions = {}): Promise<{ etag: string }> {
    assertStorableKey(key);
    const headers: Record<string, string> = {
      'content-type': options.contentType ?? 'application/octet-stream',
    };
    if (options.ifNoneMatch === '*') headers['if-none-match'] = '*';
    if (options.ifMatch !== undefined) headers['if-match'] = `"${bareEtag(options.ifMatch)}"`;
    return this.#call('put', async () => {
      const answer = await this.#objects.send('PUT', key, { headers, body });
      if (answer.status === 200) return { etag: bareEtag(answer.headers.etag ?? '') };
      // If-Match on a missing key answers 404 NoSuchKey, not 412.
      if (answer.status === 404 && options.ifMatch !== undefined) {
        throw new PreconditionFailedError(`put: ${key} does not exist`);
      }
      throw answerError(answer, `put ${key}`);
    });
  }

  async delete(key: string): Promise<boolean> {
    assertStorableKey(key);
    return this.#call('delete', async () => {
      // DeleteObject answers 204 whether or not the key existed, so ask first.
      if ((await this.#head(key)) === undefined) return false;
      await this.#remove(key);
      return true;
    });
  }

  async discard(key: string): Promise<void> {
    assertStorableKey(key);
    await this.#call('discard', () => this.#remove(key));
  }

  async #remove(key: string): Promise<void> {
    const answer = await this.#objects.send('DELETE', key);
    if (answer.status !== 204 && answer.status !== 200) throw answerError(answer, `delete ${key}`);
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ListPage> {
    const limit = Math.max(1, Math.floor(options.limit ?? DEFAULT_LIST_LIMIT));
    if (!prefixCanMatch(prefix)) return { items: [] };
    return this.#call('list', () =>
      listKeys(this.#client, this.bucket, prefix, options.startAfter || undefined, limit),
    );
  }

  async putStream(
    key: string,
    source: AsyncIterable<Buffer>,
    options: { contentType?: string } = {},
  ): Promise<{ etag: string; size: number }> {
    assertStorableKey(key);
    const upload = {
      client: this.#client,
      bucket: this.bucket,
      key,
      contentType: options.contentType ?? 'application/octet-stream',
      partSize: this.#partSize,
      overlap: this.#overlap,
    };
    return unwrapSourceError(() => uploadStream(upload, sourceChunks(source)));
  }

  async getStream(key: string, range?: ByteRange): Promise<{ info: ObjectInfo; body: Readable } | undefined> {
    assertStorableKey(key);
    if (range !== undefined) assertByteRange(range);
    return this.#call('getStream', async () => {
      let response: Readable;
      try {
        response =
          range === undefined
            ? await this.#client.getObject(this.bucket, key)
            : await this.#client.getPartialObject(this.bucket, key, range.start, range.end - range.start + 1);
      } catch (error) {
        if (isMissingObjectError(error)) return undefined;
        // The range starts at or past the end (any range of an empty object does): no bytes.
        if (range !== undefined && (error as { code?: unknown }).code === 'InvalidRange') {
          const info = await this.head(key);
          return info && { info, body: emptyBody() };
        }
        throw error;
      }
      // As in get: the response's own headers describe the version whose body it carries.
      if (!(response instanceof http.IncomingMessage)) {
        response.destroy();
        throw new Error('minio-js getObject no longer resolves with the HTTP response');
      }
      if (range !== undefined && response.statusCode !== 206) {
        response.destroy();
        throw new StorageUnavailableError(`S3 store: getStream ${key}: the server ignored the range`);
      }
      setResponseIdleTimeout(response, this.#streamIdleTimeoutMs);
      const info = infoFromHeaders(key, response);
      const body = guardedBody(response, (error) => {
        const reason = error instanceof Error ? error.message : String(error);
        return new StorageUnavailableError(`S3 store: reading ${key} failed: ${reason}`, { cause: error });
      });
      return { info, body };
    });
  }

  async listChildren(
    prefix: string,
    options: { startAfter?: string; limit?: number } = {},
  ): Promise<ChildPage> {
    const limit = Math.max(1, Math.floor(options.limit ?? DEFAULT_LIST_LIMIT));
    if (!prefixCanMatch(prefix)) return { entries: [] };
    return this.#call('listChildren', () =>
      listChildKeys(this.#client, this.bucket, prefix, options.startAfter || undefined, limit),
    );
  }

  async deleteMany(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    for (const key of keys) assertStorableKey(key);
    const failures = await this.#call('deleteMany', () => this.#client.removeObjects(this.bucket, keys));
    const failed = failures.filter((entry) => entry?.Error !== undefined);
    if (failed.length > 0) {
      const first = failed[0]?.Error;
      throw new StorageUnavailableError(
        `S3 store: deleteMany could not delete ${failed.length} keys (${first?.Code}: ${first?.Key})`,
      );
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    let deleted = 0;
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.list(prefix, { startAfter, limit: S3_BATCH });
      if (page.items.length > 0) {
        const keys = page.items.map((item) => item.key);
        const failures = await this.#call('deletePrefix', () =>
          this.#client.removeObjects(this.bucket, keys),
        );
        const failed = failures.filter((entry) => entry?.Error !== undefined);
        if (failed.length > 0) {
          const first = failed[0]?.Error;
          throw new StorageUnavailableError(
            `S3 store: deletePrefix could not delete ${failed.length} keys (${first?.Code}: ${first?.Key})`,
          );
        }
        deleted += keys.length;
      }
      if (page.next === undefined) return deleted;
      startAfter = page.next;
    }
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }

  async #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw translateS3Error(error, operation);
    }
  }
}

/** The object's info from a GET response; for a 206 the size is the total from Content-Range. */
function infoFromHeaders(key: string, response: http.IncomingMessage): ObjectInfo {
  const headers = response.headers;
  const total =
    response.statusCode === 206
      ? /\/(\d+)$/.exec(headers['content-range'] ?? '')?.[1]
      : headers['content-length'];
  const size = Number(total);
  if (total === undefined || !Number.isSafeInteger(size)) {
    response.destroy();
    throw new StorageUnavailableError(`S3 store: getStream ${key}: no object size in the answer`);
  }
  return {
    key,
    etag: bareEtag(headers.etag ?? ''),
    size,
    lastModified: new Date(headers['last-modified'] ?? 0),
  };
}
