/**
 * Bounded-memory upload of a stream of unknown length to S3, for S3ObjectStore.putStream.
 *
 * minio-js putObject is not used for streams: with an unknown size it reads the whole stream into
 * memory first, and its multipart path buffers many parts and first lists existing uploads. Here the
 * source is copied into a part buffer (at most `partSize` bytes). A full part is sent while the source
 * fills the next one, at most one part in flight, so the source and S3 move at once (sending a part only
 * after it was filled, one at a time, left each idle while the other worked). The second buffer comes
 * from a budget the store shares between its uploads (`overlap`): memory is one part per upload, plus one
 * more for as many uploads as the budget allows; an upload that finds the budget spent sends its parts
 * one after the other. A source that ends before the first part is full becomes one plain PutObject;
 * a longer one becomes a multipart upload, aborted if the source or S3 fails, so that nothing
 * becomes visible and no parts are left behind (unless the abort itself fails, e.g. S3 went away:
 * a bucket lifecycle rule for incomplete multipart uploads cleans those up).
 */
import type { Client } from 'minio';
import { bareEtag } from './etag-text.ts';
import { translateS3Error } from './s3-errors.ts';
import { SourceError } from './source-chunks.ts';

/** S3's smallest part (every part but the last), largest part, and most parts per upload. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
export const MAX_PARTS = 10_000;
/** The part buffer starts small and grows, so that small objects never cost a whole part. */
const FIRST_CAPACITY = 64 * 1024;

export interface StreamUpload {
  client: Client;
  bucket: string;
  key: string;
  contentType: string;
  partSize: number;
  /** Second part buffers: taken when an upload fills its first part, given back when it ends. */
  overlap: OverlapBudget;
}

/** How many uploads may hold a second part buffer at once. */
export class OverlapBudget {
  #free: number;

  constructor(uploads: number) {
    this.#free = uploads;
  }

  tryTake(): boolean {
    if (this.#free === 0) return false;
    this.#free--;
    return true;
  }

  giveBack(): void {
    this.#free++;
  }
}

/**
 * Uploads `chunks` (non-empty Buffers, see sourceChunks) to `key`; resolves to the final bare etag
 * and the size. Source failures arrive as SourceError and are rethrown as they are; S3 failures are
 * translated (translateS3Error).
 */
export async function uploadStream(
  upload: StreamUpload,
  chunks: AsyncIterable<Buffer>,
): Promise<{ etag: string; size: number }> {
  let filling = new PartBuffer(upload.partSize);
  /** The buffer whose bytes are on their way, once this upload has a second one. */
  let sending: PartBuffer | undefined;
  let overlapping: boolean | undefined;
  const multipart = new MultipartUpload(upload);
  let size = 0;
  try {
    for await (const chunk of chunks) {
      let offset = 0;
      while (offset < chunk.length) {
        // A full part goes out only once more bytes are known to follow, so the last part is never
        // empty and a source of exactly one part stays a single PUT.
        if (filling.isFull) {
          overlapping ??= upload.overlap.tryTake();
          // Returns once the part before is stored: its buffer is free to fill again.
          await multipart.queue(filling.bytes());
          if (overlapping) {
            sending ??= new PartBuffer(upload.partSize);
            [filling, sending] = [sending, filling];
          } else {
            await multipart.settled();
          }
          filling.clear();
        }
        const copied = filling.append(chunk, offset);
        offset += copied;
        size += copied;
      }
    }
    if (!multipart.started) {
      const body = filling.bytes();
      const result = await s3Step('putStream', () =>
        upload.client.putObject(upload.bucket, upload.key, body, body.length, {
          'Content-Type': upload.contentType,
        }),
      );
      return { etag: bareEtag(result.etag), size };
    }
    await multipart.queue(filling.bytes());
    return { etag: await multipart.complete(), size };
  } catch (error) {
    await multipart.abort();
    throw error;
  } finally {
    if (overlapping === true) upload.overlap.giveBack();
  }
}

/** Runs one S3 request, translating its failure into the storage interface's errors. */
async function s3Step<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw translateS3Error(error, operation);
  }
}

/** The bytes of the part being filled: one buffer, grown up to the part size, reused for every part. */
class PartBuffer {
  readonly #partSize: number;
  #buffer = Buffer.alloc(0);
  #length = 0;

  constructor(partSize: number) {
    this.#partSize = partSize;
  }

  get isFull(): boolean {
    return this.#length === this.#partSize;
  }

  /** Copies bytes of `chunk` from `offset` on, as many as fit; returns how many. */
  append(chunk: Buffer, offset: number): number {
    const wanted = Math.min(chunk.length - offset, this.#partSize - this.#length);
    this.#reserve(this.#length + wanted);
    const copied = chunk.copy(this.#buffer, this.#length, offset, offset + wanted);
    this.#length += copied;
    return copied;
  }

  /** The bytes held (a view: valid until the next append). */
  bytes(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  clear(): void {
    this.#length = 0;
  }

  #reserve(needed: number): void {
    if (needed <= this.#buffer.length) return;
    // Doubling while small; past 1 MiB straight to the part size, so growing costs little.
    let capacity = Math.max(FIRST_CAPACITY, this.#buffer.length * 2, needed);
    if (capacity > 1024 * 1024) capacity = this.#partSize;
    const grown = Buffer.allocUnsafe(Math.min(capacity, this.#partSize));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}

/**
 * One multipart upload, initiated on its first part, with at most one part in flight: `queue` starts
 * sending a part once the one before is stored, and returns then, so the caller may reuse that part's
 * buffer. A part's failure surfaces at the next `queue`, or at `complete`.
 */
class MultipartUpload {
  readonly #upload: StreamUpload;
  #uploadId: string | undefined;
  readonly #parts: { part: number; etag: string }[] = [];
  #queued = 0;
  #inFlight: Promise<void> | undefined;

  constructor(upload: StreamUpload) {
    this.#upload = upload;
  }

  /** A part was queued: the upload is multipart (even if its initiation is still under way). */
  get started(): boolean {
    return this.#queued > 0;
  }

  /** Waits for the part in flight, if any (rethrowing its failure). */
  async settled(): Promise<void> {
    await this.#inFlight;
  }

  /** Waits for the part in flight (rethrowing its failure), then starts sending `bytes`. */
  async queue(bytes: Buffer): Promise<void> {
    await this.#inFlight;
    const partNumber = ++this.#queued;
    if (partNumber > MAX_PARTS) {
      throw new RangeError(
        `putStream: ${this.#upload.key} needs more than ${MAX_PARTS} parts of ${this.#upload.partSize} bytes`,
      );
    }
    const sending = this.#send(partNumber, bytes);
    // Observed at the next queue, complete or abort; until then it must not count as unhandled.
    sending.catch(() => undefined);
    this.#inFlight = sending;
  }

  async #send(partNumber: number, bytes: Buffer): Promise<void> {
    const { client, bucket, key, contentType } = this.#upload;
    const uploadId =
      this.#uploadId ??
      (await s3Step('putStream (initiate)', () =>
        client.initiateNewMultipartUpload(bucket, key, { 'Content-Type': contentType }),
      ));
    this.#uploadId = uploadId;
    const result = await s3Step('putStream (part)', () =>
      client.uploadPart(
        { bucketName: bucket, objectName: key, uploadID: uploadId, partNumber, headers: {} },
        bytes,
      ),
    );
    this.#parts.push({ part: partNumber, etag: result.etag });
  }

  async complete(): Promise<string> {
    await this.#inFlight;
    const { client, bucket, key } = this.#upload;
    const uploadId = this.#uploadId;
    if (uploadId === undefined) throw new Error('BUG: completing a multipart upload never started');
    const result = await s3Step('putStream (complete)', () =>
      client.completeMultipartUpload(bucket, key, uploadId, this.#parts),
    );
    this.#uploadId = undefined; // done: nothing left to abort
    return bareEtag(result.etag);
  }

  /**
   * Best effort: the caller rethrows the error that made it give up, not a failure to abort. Waits for
   * the part in flight first, so that it cannot be stored (or initiate the upload) after the abort.
   */
  async abort(): Promise<void> {
    await this.#inFlight?.catch(() => undefined);
    this.#inFlight = undefined;
    const uploadId = this.#uploadId;
    if (uploadId === undefined) return;
    this.#uploadId = undefined;
    const { client, bucket, key } = this.#upload;
    await client.abortMultipartUpload(bucket, key, uploadId).catch(() => undefined);
  }
}
