/**
 * Resumable uploads (the tus protocol's server side, without HTTP): an upload is created for one pod
 * path, receives its bytes in any number of PATCHes, each from the byte the last one reached, and
 * becomes a file (the same FilesService write as a PUT: permission, sealing, quota, events) once every
 * byte is in. The state lives in the object store only (upload-record.ts), so any worker continues any
 * upload, and a worker that dies loses at most the segment it was writing.
 *
 * A PATCH body is stored in segments of at most `segmentBytes`; each segment is recorded as soon as it
 * is stored, so a connection that drops (the api then ends the stream rather than cancelling it) or a
 * worker that dies keeps what came before. Two exceptions, both so that nothing is recorded that may not
 * stay: a PATCH with a checksum records its segments only once the whole body matched; and the segment
 * that completes the upload is recorded only with the file (if the worker dies in between, the client
 * sends that segment again).
 */
import { createHash, randomUUID } from 'node:crypto';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { Conditions, FilesService } from '../files/files-service.ts';
import { type ObjectStore, PreconditionFailedError } from '../storage/object-store.ts';
import type { AccountSince } from '../users/account-since.ts';
import { ByteSegments } from './byte-segments.ts';
import {
  contiguous,
  doneKey,
  expiryKey,
  openUploadPrefix,
  openUploadsOf,
  recordKey,
  type Segment,
  segmentKey,
  UPLOAD_EXPIRIES_PREFIX,
  UPLOAD_ID,
  type UploadRecord,
  type UploadView,
  viewOf,
} from './upload-record.ts';

export interface UploadSettings {
  /** How long an upload may take from its creation (UPLOAD_EXPIRY_S). */
  ttlMs: number;
  /** Largest segment object (UPLOAD_SEGMENT_BYTES). */
  segmentBytes: number;
  /** Unfinished uploads one caller may have in one pod (UPLOADS_PER_CALLER). */
  maxOpenPerCaller: number;
  maxFileBytes: number;
}

/** The checksum algorithms a PATCH may name (tus checksum extension), by their tus names. */
export const CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'sha512', 'md5'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface CreateUpload {
  owner: string;
  actor: string | null;
  id: string;
  path: string;
  contentType: string;
  length: number;
  metadata: Record<string, string>;
  /** The creating request's preconditions (none: {}): held at creation and by the final write. */
  conditions?: Conditions;
}

interface Versioned {
  record: UploadRecord;
  etag: string;
}

const notFound = (id: string) => new CommandError(ErrorCode.NOT_FOUND, `no upload ${id} (or it expired)`);

export class UploadsService {
  constructor(
    private readonly store: ObjectStore,
    private readonly files: FilesService,
    private readonly accountSince: AccountSince,
    private readonly settings: UploadSettings,
    private readonly clock: () => number = () => Date.now(),
  ) {}

  /**
   * Creates the upload after the checks a PUT of that length would pass now (permission, sealing, the
   * file/folder rule, quota room). Asking again with the same id gives the same upload back.
   */
  async create(request: CreateUpload): Promise<UploadView> {
    const { owner, actor, id, path, length } = request;
    if (!UPLOAD_ID.test(id)) throw new CommandError(ErrorCode.INVALID, 'the upload id is not a UUID');
    if (!Number.isSafeInteger(length) || length < 0)
      throw new CommandError(ErrorCode.INVALID, 'Upload-Length is a whole number of bytes');
    if (length > this.settings.maxFileBytes)
      throw new CommandError(ErrorCode.TOO_LARGE, `a file is at most ${this.settings.maxFileBytes} bytes`);
    const existing = await this.#read(owner, actor, id);
    if (existing !== undefined) return viewOf(existing.record);
    const plan = await this.files.planWrite({
      owner,
      path,
      contentType: request.contentType,
      author: actor,
      conditions: request.conditions ?? {},
      declaredBytes: length,
    });
    const open = await this.store.listChildren(openUploadsOf(owner, actor), {
      limit: this.settings.maxOpenPerCaller,
    });
    if (open.entries.length >= this.settings.maxOpenPerCaller)
      throw new CommandError(
        ErrorCode.CONFLICT,
        `you have ${this.settings.maxOpenPerCaller} unfinished uploads in this pod; finish or delete one first`,
      );
    const now = this.clock();
    // The room for every byte is held until the upload completes or expires, so unfinished uploads never
    // hold more than the pod's free room (and a grantee's budget): 507 here, not at the last byte.
    await this.files.reserveRoom(plan, reservationOf(id), new Date(now + this.settings.ttlMs));
    const record: UploadRecord = {
      id,
      owner,
      path: plan.request.path,
      contentType: request.contentType,
      actor,
      actorSince: actor === null ? undefined : await this.accountSince(actor),
      length,
      offset: 0,
      segments: [],
      metadata: request.metadata,
      ...(hasConditions(request.conditions) ? { conditions: request.conditions } : {}),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.settings.ttlMs).toISOString(),
    };
    // The expiry first: an upload the sweeper does not know of could outlive its time.
    await this.#put(expiryKey(now + this.settings.ttlMs, id), { owner, actor, id });
    try {
      await this.store.put(recordKey(owner, actor, id), encode(record), {
        ifNoneMatch: '*',
        contentType: 'application/json',
      });
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      const raced = await this.#read(owner, actor, id);
      if (raced === undefined) throw error;
      return viewOf(raced.record);
    }
    // Nothing to send: the file is written at once.
    return viewOf(length === 0 ? await this.#complete(record, []) : record);
  }

  async info(owner: string, actor: string | null, id: string): Promise<UploadView> {
    const found = await this.#readAny(owner, actor, id);
    return viewOf(found.record);
  }

  /**
   * Appends `body` at `offset` (which must be where the upload stands: else 409 with the right offset).
   * Completes the upload when the last byte arrives. Resolves to the upload as it now stands.
   */
  async patch(
    owner: string,
    actor: string | null,
    id: string,
    offset: number,
    body: AsyncIterable<Buffer>,
    checksum?: { algorithm: ChecksumAlgorithm; digest: string },
  ): Promise<UploadView> {
    const found = await this.#readAny(owner, actor, id);
    let { record, etag } = found;
    if (record.file !== undefined || offset !== record.offset)
      throw new CommandError(
        ErrorCode.CONFLICT,
        `the upload is at byte ${viewOf(record).offset}, not ${offset}; ask with HEAD and go on from there`,
      );
    // The caller may have lost the right to write there since (a grant revoked or expired, a file sealed
    // meanwhile): no more of its bytes are taken then.
    await this.#planWrite(record);
    const hash = checksum === undefined ? undefined : createHash(checksum.algorithm);
    const pieces = new ByteSegments(body);
    const unrecorded: Segment[] = [];
    let position = offset;
    try {
      while (await pieces.more()) {
        const start = position;
        const key = segmentKey(owner, actor, id, start, randomUUID());
        const { length } = record;
        const { segmentBytes } = this.settings;
        const piece = async function* () {
          for await (const chunk of pieces.next(segmentBytes)) {
            if (position + chunk.length > length)
              throw new CommandError(
                ErrorCode.TOO_LARGE,
                `the upload has ${length} bytes; this goes past them`,
              );
            hash?.update(chunk);
            position += chunk.length;
            yield chunk;
          }
        };
        unrecorded.push({ key, offset: start, size: 0 });
        const stored = await this.store.putStream(key, piece(), {
          contentType: 'application/octet-stream',
        });
        (unrecorded.at(-1) as Segment).size = stored.size;
        if (hash === undefined && position < record.length) {
          ({ record, etag } = await this.#record(record, etag, unrecorded.splice(0)));
        }
      }
      if (hash !== undefined && checksum !== undefined) {
        if (hash.digest('base64') !== checksum.digest)
          throw new CommandError(
            ErrorCode.CHECKSUM_MISMATCH,
            `the body does not match its ${checksum.algorithm} checksum`,
          );
        if (position < record.length)
          ({ record, etag } = await this.#record(record, etag, unrecorded.splice(0)));
      }
      if (position === record.length) return viewOf(await this.#complete(record, unrecorded.splice(0)));
      return viewOf(record);
    } finally {
      // Whatever was stored and not recorded is nobody's.
      await Promise.all(unrecorded.map((segment) => this.store.discard(segment.key).catch(() => undefined)));
    }
  }

  /** Removes the upload and its bytes (tus termination); finished uploads are forgotten too. */
  async terminate(owner: string, actor: string | null, id: string): Promise<void> {
    await this.#readAny(owner, actor, id);
    await this.store.deletePrefix(openUploadPrefix(owner, actor, id));
    await this.store.discard(doneKey(owner, actor, id));
    await this.files.releaseRoom(owner, reservationOf(id));
  }

  /**
   * Removes the unfinished uploads in `owner`'s pod whose creators may no longer write where they
   * write (a grant revoked or narrowed, a delegator's control gone), with the quota room they hold: they
   * could never complete, and should not keep the pod's room until they expire. Called after every
   * grant change in the pod; resolves to how many went.
   */
  async dropUnfinishable(owner: string): Promise<number> {
    let dropped = 0;
    let startAfter: string | undefined;
    for (let page = 0; page < MAX_SCAN_PAGES; page++) {
      const listed = await this.store.list(`users/${owner}/uploads/open/`, { startAfter, limit: 1000 });
      for (const item of listed.items) {
        if (!item.key.endsWith('/upload.json')) continue;
        const found = await this.#readKey(item.key);
        if (found === undefined || found.record.actor === owner) continue;
        try {
          await this.#planWrite(found.record);
        } catch (error) {
          if (!(error instanceof CommandError)) throw error;
          if (error.code !== ErrorCode.FORBIDDEN && error.code !== ErrorCode.NOT_FOUND) continue;
          const { actor, id } = found.record;
          await this.store.deletePrefix(openUploadPrefix(owner, actor, id));
          await this.files.releaseRoom(owner, reservationOf(id));
          dropped++;
        }
      }
      startAfter = listed.next;
      if (startAfter === undefined) break;
    }
    return dropped;
  }

  /** Removes the expired uploads among the oldest `limit`; resolves to how many. */
  async sweep(limit = 100): Promise<{ removed: number; kept: number }> {
    const result = { removed: 0, kept: 0 };
    const page = await this.store.list(UPLOAD_EXPIRIES_PREFIX, { limit });
    const now = this.clock();
    for (const item of page.items) {
      const at = Number(item.key.slice(UPLOAD_EXPIRIES_PREFIX.length, UPLOAD_EXPIRIES_PREFIX.length + 13));
      if (!(at <= now)) break; // sorted by time: the rest are younger
      const entry = await this.store.get(item.key);
      if (entry !== undefined) {
        const { owner, actor, id } = JSON.parse(entry.body.toString('utf8')) as {
          owner: string;
          actor: string | null;
          id: string;
        };
        const removed = await this.store.deletePrefix(openUploadPrefix(owner, actor, id));
        await this.store.discard(doneKey(owner, actor, id));
        await this.files.releaseRoom(owner, reservationOf(id)).catch(() => undefined); // it lapses now anyway
        if (removed > 0) result.removed++;
        else result.kept++;
      }
      await this.store.discard(item.key);
    }
    return result;
  }

  /** The last bytes are in: the file is written from the segments, then the upload is done. */
  async #complete(record: UploadRecord, last: Segment[]): Promise<UploadRecord> {
    const segments = contiguous([...record.segments, ...last], record.length);
    if (segments === undefined) throw new Error(`upload ${record.id}: its segments do not cover its bytes`);
    const plan = await this.#planWrite(record);
    const store = this.store;
    async function* bytes() {
      for (const segment of segments ?? []) {
        const object = await store.getStream(segment.key);
        if (object === undefined) throw new Error(`upload ${record.id}: segment ${segment.key} is missing`);
        for await (const chunk of object.body) yield chunk as Buffer;
      }
    }
    const { created, info } = await this.files.commitWrite(plan, bytes());
    const done: UploadRecord = { ...record, offset: record.length, segments: [], file: info, created };
    await this.#put(doneKey(record.owner, record.actor, record.id), done);
    await this.store.deletePrefix(openUploadPrefix(record.owner, record.actor, record.id));
    return done;
  }

  /** The write the upload makes, checked as it would be now (its creation's preconditions included). */
  #planWrite(record: UploadRecord) {
    return this.files.planWrite({
      owner: record.owner,
      path: record.path,
      contentType: record.contentType,
      author: record.actor,
      conditions: record.conditions ?? {},
      declaredBytes: record.length,
      reservation: reservationOf(record.id),
    });
  }

  /** Records stored segments, if nobody else changed the upload meanwhile (else 409). */
  async #record(record: UploadRecord, etag: string, segments: Segment[]): Promise<Versioned> {
    const last = segments.at(-1);
    if (last === undefined) return { record, etag };
    const next: UploadRecord = {
      ...record,
      segments: [...record.segments, ...segments],
      offset: last.offset + last.size,
    };
    try {
      const written = await this.store.put(recordKey(record.owner, record.actor, record.id), encode(next), {
        ifMatch: etag,
        contentType: 'application/json',
      });
      return { record: next, etag: written.etag };
    } catch (error) {
      if (error instanceof PreconditionFailedError) {
        await Promise.all(segments.map((s) => this.store.discard(s.key)));
        throw new CommandError(ErrorCode.CONFLICT, 'another request changed this upload meanwhile');
      }
      throw error;
    }
  }

  /** The upload, open or done, if it is the caller's own, of its own account, and not expired. */
  async #readAny(owner: string, actor: string | null, id: string): Promise<Versioned> {
    if (!UPLOAD_ID.test(id)) throw notFound(id);
    const found = (await this.#read(owner, actor, id)) ?? (await this.#readKey(doneKey(owner, actor, id)));
    if (found === undefined) throw notFound(id);
    const { record } = found;
    if (Date.parse(record.expiresAt) <= this.clock()) throw notFound(id);
    // A deleted account's name taken again: the new account is someone else.
    if (actor !== null && record.actorSince !== (await this.accountSince(actor))) throw notFound(id);
    return found;
  }

  #read(owner: string, actor: string | null, id: string): Promise<Versioned | undefined> {
    return this.#readKey(recordKey(owner, actor, id));
  }

  async #readKey(key: string): Promise<Versioned | undefined> {
    const object = await this.store.get(key);
    if (object === undefined) return undefined;
    return { record: JSON.parse(object.body.toString('utf8')) as UploadRecord, etag: object.etag };
  }

  async #put(key: string, value: unknown): Promise<void> {
    await this.store.put(key, encode(value), { contentType: 'application/json' });
  }
}

/** Pages of 1,000 keys a scan of one pod's unfinished uploads reads at most (callers × 8 uploads × segments). */
const MAX_SCAN_PAGES = 20;

/** The quota reservation an upload holds from its creation to its completion (see reserveRoom). */
const reservationOf = (id: string) => `upload:${id}`;

const hasConditions = (conditions: Conditions | undefined): conditions is Conditions =>
  conditions !== undefined && Object.keys(conditions).length > 0;

const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
