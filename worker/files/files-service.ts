/**
 * Pod files: reads (with ranges and conditions), streamed writes, folder listings, metadata patches and
 * deletes, on the layout of file-record.ts. A small file's bytes go inside its metadata document; a
 * larger write streams the bytes into a fresh blob. Either way one conditional put of the document
 * makes the write visible; a failed or cancelled write deletes its blob, so nothing half-written is
 * ever visible.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { filePathProblem } from '../../protocol/names.ts';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { Placement } from '../../protocol/placement.ts';
import {
  asksAboutState,
  type ConditionalHeaders,
  evaluatePreconditions,
  ifRangeHolds,
  type Method,
  type Validators,
} from '../../protocol/preconditions.ts';
import type { AccessService, Holding } from '../access/access-service.ts';
import { type EventPublisher, noEventPublisher } from '../events/event-publisher.ts';
import type { WriteQuota } from '../quota/write-quota.ts';
import { type ObjectStore, PreconditionFailedError } from '../storage/object-store.ts';
import type { Observation, PodWriteGuard } from '../users/incarnation.ts';
import { profileKey } from '../users/users-service.ts';
import type { BlobIntents } from './blob-intents.ts';
import { decideRange } from './byte-range.ts';
import {
  deleteClaimLive,
  etagFor,
  type FileInfo,
  type FileRecord,
  fileKey,
  filesPrefix,
  newBlobKey,
  parseRecord,
  publicInfo,
  serializeRecord,
} from './file-record.ts';
import { applyMetadataPatch } from './metadata-patch.ts';
import { NameLocks } from './name-lock.ts';
import { fileRecordKey, type RecordCache } from './record-cache.ts';
import { nameFromSlug } from './slug.ts';

/** The request's conditional headers, as text (protocol/preconditions.ts evaluates them). */
export type Conditions = ConditionalHeaders;

export interface WriteRequest {
  owner: string;
  path: string;
  contentType: string;
  author: string | null;
  conditions: Conditions;
  /** Content-Length of the upload, when the client sent one (the quota reserves it up front). */
  declaredBytes?: number | undefined;
  /** A quota reservation held for this write beforehand (a resumable upload's), which it takes over. */
  reservation?: string | undefined;
  /** POST: the method whose precondition rules apply (default PUT). */
  method?: Method;
  /** POST: a new free name in the same folder, for when the chosen one is taken meanwhile. */
  rename?: () => string;
  /**
   * The bytes follow in this same request (a PUT): when they are declared small enough to go inline,
   * the file/folder rule is checked only once, under the name's lock, not also before they are read.
   */
  bodyFollows?: boolean;
  /** What the broker said of the pod with this command (record-cache.ts): may the record come from memory. */
  placement?: Placement | undefined;
}

/** A write whose preconditions held when it was planned; the bytes come next. */
export interface WritePlan {
  request: WriteRequest;
  /** The file as it was when planned (the commit's first attempt assumes it unchanged; the store checks). */
  current: { record: FileRecord; docEtag: string } | undefined;
  /** The pod's account as seen when planned: a new file is committed only into that same account. */
  owner?: Observation | undefined;
  /** What the author holds in the pod (a grantee's budgeted entries are charged too). */
  holding: Holding;
}

export type ReadResult =
  | { status: 304 | 416; info: FileInfo }
  | {
      status: 200 | 206;
      info: FileInfo;
      start: number;
      end: number;
      body: NodeJS.ReadableStream;
      /** The bytes of the answer, when the file lives in its record (no stream needed to send them). */
      bytes?: Buffer;
    };

export interface FolderEntry {
  name: string;
  kind: 'file' | 'folder';
  size?: number;
  contentType?: string;
  updatedAt?: string;
  etag?: string;
}

const MAX_COMMIT_ATTEMPTS = 16;

/** A record as this worker remembers it (record-cache.ts). */
interface CachedRecord {
  record: FileRecord;
  /** The stored document's ETag (what a conditional write of it compares). */
  docEtag: string;
}

/** What a remembered record costs beyond the cache's allowance per entry: its bytes, its path. */
const recordBytes = (cached: CachedRecord) =>
  (cached.record.inlineBytes?.length ?? 0) + cached.record.path.length * 2;

/** A write's record, remembered once written: under this placement, for this incarnation of the account. */
interface Remember {
  placement: Placement;
  incarnation: string;
}
/** FILES_INLINE_MAX_BYTES: files up to this size live inside their metadata document. */
export const DEFAULT_INLINE_MAX_BYTES = 16 * 1024;

export interface FilesServiceOptions {
  /** Files of at most this many bytes are kept inside their metadata document (0: none). */
  inlineMaxBytes?: number;
  /** Where a blob is noted before it is stored, so that a dead worker's blob is swept (blob-intents.ts). */
  blobIntents?: BlobIntents;
  /** What this worker remembers of its pods' records (record-cache.ts); without it every read goes to the store. */
  recordCache?: RecordCache;
}
const LIST_CONCURRENCY = 16;

export class FilesService {
  readonly #locks: NameLocks;
  readonly #inlineMaxBytes: number;
  readonly #intents: BlobIntents | undefined;
  readonly #cache: RecordCache | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly access: AccessService,
    private readonly events: EventPublisher = noEventPublisher,
    private readonly clock: () => Date = () => new Date(),
    private readonly guard?: PodWriteGuard,
    /** Storage quotas (worker/quota/); without it nothing is counted or limited. */
    private readonly quota?: WriteQuota,
    options: FilesServiceOptions = {},
  ) {
    this.#inlineMaxBytes = options.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES;
    this.#intents = options.blobIntents;
    this.#cache = options.recordCache;
    this.#locks = new NameLocks(store, { clock: () => this.clock().getTime() });
  }

  async info(actor: string | null, owner: string, path: string, placement?: Placement): Promise<FileInfo> {
    checkPath(path);
    this.access.precheck(await this.access.holding(actor, owner), 'read', path, notFound(path));
    const found = await this.#readRemembered(owner, path, placement);
    if (found === undefined) throw notFound(path);
    return publicInfo(found.record);
  }

  /** Opens a download, honouring the conditional headers and a single Range (with If-Range). */
  async openRead(
    actor: string | null,
    owner: string,
    path: string,
    options: { range?: string; conditions?: Conditions; placement?: Placement | undefined } = {},
  ): Promise<ReadResult> {
    checkPath(path);
    this.access.precheck(await this.access.holding(actor, owner), 'read', path, notFound(path));
    const found = await this.#readRemembered(owner, path, options.placement);
    if (found === undefined) throw notFound(path);
    const info = publicInfo(found.record);
    const conditions = options.conditions ?? {};
    if (checkConditions('GET', conditions, found.record) === 'not-modified') return { status: 304, info };
    // A stale If-Range validator: the client's partial copy is of another version, so send it all.
    const rangeHeader = ifRangeHolds(conditions.ifRange, validatorsOf(found.record))
      ? options.range
      : undefined;
    const range = decideRange(rangeHeader, info.size);
    if (range.kind === 'unsatisfiable') return { status: 416, info };
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, info.size - 1];
    const { blob, inlineBytes } = found.record;
    const status = range.kind === 'partial' ? 206 : 200;
    if (inlineBytes !== undefined || info.size === 0 || blob === undefined) {
      const bytes = inlineBytes === undefined ? Buffer.alloc(0) : inlineBytes.subarray(start, end + 1);
      return { status, info, start, end, body: Readable.from([bytes]), bytes };
    }
    const opened = await this.store.getStream(blob, range.kind === 'partial' ? { start, end } : undefined);
    if (opened === undefined) throw notFound(path); // deleted between the two reads
    return { status, info, start, end, body: opened.body };
  }

  /** Checks everything that can be checked before the bytes arrive, so a doomed upload fails at once. */
  async planWrite(request: WriteRequest): Promise<WritePlan> {
    const { owner, path, author } = request;
    checkPath(path);
    const holding = await this.access.holding(author, owner);
    this.access.precheck(holding, 'write-file', path, notFound(path));
    this.#refuseBlindConditions(holding, request.method ?? 'PUT', path, request.conditions);
    // Independent look-ups, in parallel: the owner and the current version (one from memory needs the
    // owner first: it is remembered for one incarnation of the account).
    const [ownerSeen, current] = this.#mayRemember(request.placement)
      ? await this.#requireOwner(owner).then(
          async (seen) => [seen, await this.#readRemembered(owner, path, request.placement, seen)] as const,
        )
      : await Promise.all([this.#requireOwner(owner), this.#read(owner, path)]);
    // The file/folder rule only matters for a new name: an existing file already keeps it (every
    // creation checks it under its name's lock). Checked here too so that a doomed upload fails at once,
    // unless a PUT's body is declared small enough to go inline: then reading it costs less than the
    // check, and the check under the lock refuses it all the same. A POST checks here (a clash is its cue
    // to choose another name first), and so does a resumable upload's creation (its client must learn now).
    const small =
      request.bodyFollows === true &&
      request.rename === undefined &&
      request.declaredBytes !== undefined &&
      request.declaredBytes <= this.#inlineMaxBytes;
    if (current === undefined && !small) await this.#refuseFolderClash(owner, path);
    const file = { exists: current !== undefined, author: current?.record.author ?? null };
    this.access.decide(holding, 'write-file', owner, path, file);
    checkConditions(request.method ?? 'PUT', request.conditions, current?.record);
    return { request, current, owner: ownerSeen, holding };
  }

  /**
   * Holds room in the pod (and the author's grant budget) for the planned write of its declared length
   * until `until`, under `id` (a resumable upload, long before its bytes are in): quota_exceeded if
   * there is none. The write made with `reservation: id` takes it over; releaseRoom drops it.
   */
  async reserveRoom(plan: WritePlan, id: string, until: Date): Promise<void> {
    await this.quota?.reserveUpload(this.#chargeTarget(plan), id, until);
  }

  /** Drops the room held under `id` by reserveRoom (nothing without quotas or without that hold). */
  async releaseRoom(owner: string, id: string): Promise<void> {
    await this.quota?.ledger.forget(owner, id);
  }

  /** The quota held for the planned write, before its first byte (none without quotas). */
  #beginCharge(plan: WritePlan) {
    return this.quota?.begin(this.#chargeTarget(plan));
  }

  #chargeTarget(plan: WritePlan) {
    return {
      owner: plan.request.owner,
      actor: plan.request.author,
      holding: plan.holding,
      path: plan.request.path,
      current: plan.current?.record,
      declaredBytes: plan.request.declaredBytes,
      reservation: plan.request.reservation,
    };
  }

  /**
   * Streams the bytes into a new blob, then makes them visible. Returns whether the file was created.
   * A creation holds its name's lock (name-lock.ts) while it checks the file/folder rule and writes,
   * so of two racing creations that would make one name a file and a folder, exactly one is written.
   */
  async commitWrite(
    plan: WritePlan,
    bytes: AsyncIterable<Buffer>,
  ): Promise<{ created: boolean; info: FileInfo }> {
    const { owner, contentType, author, conditions } = plan.request;
    const method = plan.request.method ?? 'PUT';
    let path = plan.request.path;
    // The quota is held before the first byte and grows with the body: a write that would pass it
    // stops there (quota_exceeded), and its bytes never become visible.
    const charge = await this.#beginCharge(plan);
    const hash = createHash('sha256');
    let size = 0;
    async function* hashed() {
      for await (const chunk of bytes) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    }
    let stored: { blob: string; intent?: string | undefined } | { inlineBytes: Buffer };
    try {
      stored = await this.#storeBytes(
        owner,
        charge === undefined ? hashed() : charge.meter(hashed()),
        contentType,
        path,
      );
    } catch (error) {
      await charge?.release();
      throw error;
    }
    const blob = 'blob' in stored ? stored.blob : undefined;
    const intent = 'blob' in stored ? stored.intent : undefined;
    const sha256 = hash.digest('hex');
    try {
      let current = plan.current;
      for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
        // The first attempt trusts the plan's read: the conditional put fails if the file changed since.
        if (attempt > 0) current = await this.#read(owner, path);
        if (current !== undefined && plan.request.rename !== undefined) {
          // A POST whose name was taken meanwhile: another name, never a 412 (its blob's intent follows).
          path = plan.request.rename();
          current = undefined;
          if (intent !== undefined && blob !== undefined)
            await this.#intents?.write(intent, { owner, path, blob });
          continue;
        }
        if (current !== undefined && deleteClaimLive(current.record, this.clock())) {
          await pause(attempt); // a DELETE claimed this version: it is gone in a moment
          continue;
        }
        checkConditions(method, conditions, current?.record);
        const now = this.clock();
        const revision = (current?.record.revision ?? 0) + 1;
        const record: FileRecord = {
          path,
          size,
          contentType,
          sha256,
          etag: etagFor(sha256, revision),
          author,
          createdAt: current?.record.createdAt ?? now.toISOString(),
          updatedAt: now.toISOString(),
          lastModifiedStrong: strongAfter(current?.record, now),
          tags: current?.record.tags ?? [],
          description: current?.record.description ?? '',
          revision,
          ...('blob' in stored ? { blob: stored.blob } : { inlineBytes: stored.inlineBytes }),
        };
        if (attempt > 0) {
          const holding = await this.access.holding(author, owner);
          const file = { exists: current !== undefined, author: current?.record.author ?? null };
          this.access.decide(holding, 'write-file', owner, path, file);
        }
        await charge?.cover(size, current?.record);
        try {
          const remember = this.#rememberFor(plan);
          if (current === undefined) await this.#create(record, owner, plan.owner, remember);
          else await this.#commitRecord(record, owner, current.docEtag, plan.owner, remember);
        } catch (error) {
          if (error instanceof PreconditionFailedError) continue; // someone wrote meanwhile: decide again
          throw error;
        }
        await charge?.settle(size, current?.record);
        await this.events.publish({
          kind: current === undefined ? 'file.created' : 'file.updated',
          owner,
          path,
          etag: record.etag,
        });
        // The replaced bytes are invisible from now on; remove them without making the caller wait.
        if (current !== undefined) void this.#removeUnnamed(owner, path, current.record.blob);
        this.#clearIntent(intent);
        return { created: current === undefined, info: publicInfo(record) };
      }
      throw new CommandError(ErrorCode.CONFLICT, `too many concurrent writes to ${path}; try again`);
    } catch (error) {
      await charge?.release();
      // The intent goes only with its blob: a blob that could not be removed is left to the sweep.
      if (await this.#deleteQuietly(blob)) this.#clearIntent(intent);
      throw error;
    }
  }

  /**
   * Removes a blob that `path`'s record no longer names (replaced or deleted); if that fails, notes it as
   * an intent, so the sweep removes it later (blob-intents.ts).
   */
  async #removeUnnamed(owner: string, path: string, blob: string | undefined): Promise<void> {
    if (blob === undefined || (await this.#deleteQuietly(blob))) return;
    await this.#intents?.note({ owner, path, blob }).catch(() => undefined);
  }

  /** Drops a blob's intent once the blob is named by its record or removed (a failure: the sweep does it). */
  #clearIntent(intent: string | undefined): void {
    if (intent !== undefined) void this.#intents?.clear(intent).catch(() => undefined);
  }

  /** Writes the record of a new file, under its name's lock, if the file/folder rule allows it. */
  async #create(
    record: FileRecord,
    owner: string,
    seen: Observation | undefined,
    remember: Remember | undefined,
  ): Promise<void> {
    await this.#locks.withLock(owner, record.path, async (lease) => {
      await this.#refuseFolderClash(owner, record.path);
      lease.beforeWrite();
      await this.#commitRecord(record, owner, undefined, seen, remember);
      if (!lease.stillHeld()) {
        // The store stalled so long that the lock may have passed to another creation, whose check
        // may have missed this record: undo it rather than risk a file where a folder is.
        await this.#removeRecord(owner, record.path);
        throw new CommandError(
          ErrorCode.STORAGE_UNAVAILABLE,
          'the store is too slow to create files safely; retry',
          1,
        );
      }
    });
  }

  /** A free path in `dir` for a POST: the slug when free, else the slug with a random suffix, else an id. */
  async chooseName(
    actor: string | null,
    owner: string,
    dir: string,
    slug: string | undefined,
  ): Promise<string> {
    if (dir !== '') checkPath(dir);
    const folder = dir === '' ? '' : `${dir}/`;
    this.access.precheck(await this.access.holding(actor, owner), 'write-file', folder, notFound(folder));
    await this.#requireOwner(owner);
    const base = nameFromSlug(slug);
    const join = (name: string) => (dir === '' ? name : `${dir}/${name}`);
    if (base !== '' && filePathProblem(join(base)) === undefined) {
      if ((await this.#read(owner, join(base))) === undefined) return join(base);
    }
    return randomName(dir, base);
  }

  /**
   * A POST's write: the name from chooseName, and, whenever that name is taken before the file is
   * written (a concurrent POST with the same Slug), another one with a random suffix, never a 412.
   */
  async planPost(request: {
    owner: string;
    dir: string;
    slug: string | undefined;
    contentType: string;
    author: string | null;
    declaredBytes?: number | undefined;
  }): Promise<WritePlan> {
    const { owner, dir, slug, contentType, author, declaredBytes } = request;
    const first = await this.chooseName(author, owner, dir, slug);
    const rename = () => randomName(dir, nameFromSlug(slug));
    const write = (path: string): WriteRequest => ({
      owner,
      path,
      contentType,
      author,
      conditions: { ifNoneMatch: '*' },
      method: 'POST',
      rename,
      declaredBytes,
    });
    try {
      return await this.planWrite(write(first));
    } catch (error) {
      // Taken meanwhile, or the slug names a folder: another name. (When the folder itself is a file,
      // the other name clashes too, and that 409 is the answer.)
      const clash = error instanceof CommandError && error.code === ErrorCode.CONFLICT;
      if (!isPreconditionFailure(error) && !clash) throw error;
      return this.planWrite(write(rename()));
    }
  }

  /** Direct children of a folder (`''` is the pod's root), in stable byte order, paginated. */
  async list(
    actor: string | null,
    owner: string,
    dir: string,
    options: { cursor?: string; limit?: number } = {},
  ): Promise<{ items: FolderEntry[]; next: string | null }> {
    if (dir !== '') checkPath(dir);
    const missing = new CommandError(
      ErrorCode.NOT_FOUND,
      dir === '' ? `no user named ${owner}` : `no folder ${dir}`,
    );
    this.access.precheck(
      await this.access.holding(actor, owner),
      'read',
      dir === '' ? '' : `${dir}/`,
      missing,
    );
    await this.#requireOwner(owner, true);
    const prefix = dir === '' ? filesPrefix(owner) : `${fileKey(owner, dir)}/`;
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const startAfter = options.cursor === undefined ? undefined : prefix + decodeCursor(options.cursor);
    const page = await this.store.listChildren(prefix, {
      limit,
      ...(startAfter === undefined ? {} : { startAfter }),
    });
    if (dir !== '' && page.entries.length === 0 && options.cursor === undefined) {
      throw missing;
    }
    const items: (FolderEntry | undefined)[] = new Array(page.entries.length);
    for (let i = 0; i < page.entries.length; i += LIST_CONCURRENCY) {
      const batch = page.entries.slice(i, i + LIST_CONCURRENCY);
      const resolved = await Promise.all(
        batch.map(async (entry): Promise<FolderEntry | undefined> => {
          if (entry.kind === 'prefix') return { name: entry.prefix.slice(prefix.length, -1), kind: 'folder' };
          const object = await this.store.get(entry.info.key);
          if (object === undefined) return undefined; // deleted meanwhile
          const record = parseRecord(object.body);
          return {
            name: entry.info.key.slice(prefix.length),
            kind: 'file',
            size: record.size,
            contentType: record.contentType,
            updatedAt: record.updatedAt,
            etag: record.etag,
          };
        }),
      );
      resolved.forEach((item, j) => {
        items[i + j] = item;
      });
    }
    const next = page.next === undefined ? null : encodeCursor(page.next.slice(prefix.length));
    return { items: items.filter((item): item is FolderEntry => item !== undefined), next };
  }

  /** JSON merge patch of the user metadata (`tags`, `description`); the bytes are untouched. */
  async patch(
    actor: string | null,
    owner: string,
    path: string,
    patch: unknown,
    conditions: Conditions = {},
    options: { redelivered?: boolean } = {},
  ): Promise<FileInfo> {
    checkPath(path);
    const holding = await this.access.holding(actor, owner);
    this.access.precheck(holding, 'patch', path, notFound(path));
    this.#refuseBlindConditions(holding, 'PATCH', path, conditions);
    for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
      const current = await this.#read(owner, path);
      if (current === undefined) throw notFound(path);
      this.access.decide(holding, 'patch', owner, path, { exists: true, author: current.record.author });
      try {
        checkConditions('PATCH', conditions, current.record);
      } catch (error) {
        // Sent again after its worker died: if the patch is already in place, that worker applied it.
        if (options.redelivered && isPreconditionFailure(error) && patchInPlace(current.record, patch))
          return publicInfo(current.record);
        throw error;
      }
      const revision = current.record.revision + 1;
      const now = this.clock();
      const record: FileRecord = {
        ...current.record,
        ...applyMetadataPatch(current.record, patch),
        revision,
        etag: etagFor(current.record.sha256, revision),
        updatedAt: now.toISOString(),
        lastModifiedStrong: strongAfter(current.record, now),
      };
      try {
        await this.#writeRecord(record, owner, current.docEtag);
        await this.events.publish({ kind: 'file.patched', owner, path, etag: record.etag });
        return publicInfo(record);
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
    throw new CommandError(ErrorCode.CONFLICT, `too many concurrent writes to ${path}; try again`);
  }

  /**
   * Deletes a file. The store has no conditional delete, so the version is first claimed with a
   * conditional put (deleting: claimId): of concurrent DELETEs exactly one claims it, removes it and
   * gives its space back to the quota; a write waits while the claim is fresh. A DELETE sent again
   * after its worker died (`takeOverClaim`) takes a fresh claim over: most likely its own.
   */
  async delete(
    actor: string | null,
    owner: string,
    path: string,
    conditions: Conditions = {},
    options: { takeOverClaim?: boolean } = {},
  ): Promise<void> {
    const claimId = randomUUID();
    checkPath(path);
    const holding = await this.access.holding(actor, owner);
    this.access.precheck(holding, 'delete', path, notFound(path));
    this.#refuseBlindConditions(holding, 'DELETE', path, conditions);
    for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
      const current = await this.#read(owner, path);
      if (current === undefined) throw notFound(path);
      checkConditions('DELETE', conditions, current.record);
      const now = this.clock();
      if (deleteClaimLive(current.record, now) && !options.takeOverClaim) {
        await pause(attempt); // another DELETE claimed it: it is gone in a moment
        continue;
      }
      const claimed = { ...current.record, deleting: { id: claimId, since: now.toISOString() } };
      try {
        await this.#writeRecord(claimed, owner, current.docEtag);
      } catch (error) {
        if (error instanceof PreconditionFailedError) continue; // changed meanwhile: look again
        throw error;
      }
      await this.#removeRecord(owner, path);
      await this.quota?.ledger.refund(owner, { bytes: current.record.size, files: 1 }).catch(() => undefined); // an overcount a recount repairs; the file is gone either way
      await this.#removeUnnamed(owner, path, current.record.blob);
      await this.events.publish({ kind: 'file.deleted', owner, path });
      return;
    }
    throw new CommandError(ErrorCode.CONFLICT, `${path} is being changed or deleted; try again`, 1);
  }

  /**
   * No probing through preconditions: a condition asks about the file's current state, which only a
   * caller who may read it may learn. Anyone else sending one (but `If-None-Match: *` on PUT, which
   * asks no more than any create) is refused before the file is looked up, so the answer is the same
   * whether it exists or not.
   */
  #refuseBlindConditions(holding: Holding, method: Method, path: string, conditions: Conditions): void {
    const modes = this.access.modes(holding, path);
    if (modes === null || modes.has('read') || !asksAboutState(method, conditions)) return;
    throw new CommandError(
      ErrorCode.FORBIDDEN,
      'conditional requests (If-Match, If-None-Match, If-Unmodified-Since) need read access to the file',
    );
  }

  async #read(owner: string, path: string): Promise<{ record: FileRecord; docEtag: string } | undefined> {
    const object = await this.store.get(fileKey(owner, path));
    return object === undefined ? undefined : { record: parseRecord(object.body), docEtag: object.etag };
  }

  /** How a planned write's record is remembered once written, if its command's placement allows memory. */
  #rememberFor(plan: WritePlan): Remember | undefined {
    const { placement } = plan.request;
    if (!this.#mayRemember(placement) || plan.owner === undefined) return undefined;
    return { placement, incarnation: plan.owner.incarnation.id };
  }

  /** Whether this command may read records from this worker's memory (record-cache.ts). */
  #mayRemember(placement: Placement | undefined): placement is Placement {
    return this.#cache !== undefined && this.guard !== undefined && placement?.exclusive === true;
  }

  /**
   * The record as `#read` returns it, from memory when the broker's placement allows it and the pod's
   * account is still the incarnation it was remembered under (NOT_FOUND when the account is gone);
   * what is read from the store is remembered for the next command.
   */
  async #readRemembered(
    owner: string,
    path: string,
    placement: Placement | undefined,
    seen?: Observation,
  ): Promise<CachedRecord | undefined> {
    const cache = this.#cache;
    const guard = this.guard;
    if (cache === undefined || guard === undefined || placement?.exclusive !== true) {
      if (placement !== undefined) cache?.passed(); // counted: a pod's command the memory could not serve
      return this.#read(owner, path);
    }
    const incarnation = (seen ?? (await guard.observe(owner))).incarnation.id;
    return cache.readThrough(
      owner,
      fileRecordKey(path),
      placement,
      incarnation,
      () => this.#read(owner, path),
      (found) => ({ incarnation, size: recordBytes(found) }),
    );
  }

  /**
   * Writes the document if it is still at `docEtag` (undefined: if there is none); its new etag. What
   * this worker remembers of it is forgotten before and after (record-cache.ts); with `remember` (the
   * command's placement allows memory), the written version is remembered right after.
   */
  async #writeRecord(
    record: FileRecord,
    owner: string,
    docEtag: string | undefined,
    remember?: Remember,
  ): Promise<string> {
    const condition = docEtag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: docEtag };
    const cache = this.#cache;
    const key = fileRecordKey(record.path);
    const put = () =>
      this.store.put(fileKey(owner, record.path), serializeRecord(record), {
        ...condition,
        contentType: record.inlineBytes === undefined ? 'application/json' : 'application/octet-stream',
      });
    const { etag } = cache === undefined ? await put() : await cache.writing(owner, key, put);
    if (cache !== undefined && remember !== undefined) {
      const stored = record.inlineBytes === undefined ? record : { ...record, inline: true as const };
      const written = { record: stored, docEtag: etag };
      const ticket = cache.ticket(owner, remember.placement);
      cache.fill(ticket, key, written, remember.incarnation, recordBytes(written));
    }
    return etag;
  }

  /** Removes the document (what this worker remembers of it is forgotten before and after). */
  async #removeRecord(owner: string, path: string): Promise<void> {
    const remove = () => this.store.delete(fileKey(owner, path));
    await (this.#cache === undefined ? remove() : this.#cache.writing(owner, fileRecordKey(path), remove));
  }

  /**
   * The pod's account, alive (NOT_FOUND otherwise). A write may take the guard's recent sight of it
   * (incarnation.ts: it vouches for writes as a fresh one does); a read (`now`) looks at the account itself,
   * so that nothing of an account already gone is listed.
   */
  async #requireOwner(owner: string, now = false): Promise<Observation | undefined> {
    if (this.guard !== undefined) return now ? this.guard.observeNow(owner) : this.guard.observe(owner);
    if ((await this.store.head(profileKey(owner))) === undefined) {
      throw new CommandError(ErrorCode.NOT_FOUND, `no user named ${owner}`);
    }
    return undefined;
  }

  /**
   * Makes a written file visible. Replacing needs the old document in place (an erasure removes it);
   * creating needs the pod's account to be the one the write was planned for, still alive (an upload
   * that outlives its account's deletion commits nothing: incarnation.ts).
   */
  async #commitRecord(
    record: FileRecord,
    owner: string,
    docEtag: string | undefined,
    seen: Observation | undefined,
    remember?: Remember,
  ): Promise<void> {
    if (docEtag !== undefined || this.guard === undefined) {
      await this.#writeRecord(record, owner, docEtag, remember);
      return;
    }
    let written: string | undefined;
    await this.guard.write(
      owner,
      seen,
      async () => {
        written = await this.#writeRecord(record, owner, undefined, remember);
      },
      async () => {
        // Only this very document: a later write of the name is not ours to undo.
        const found = await this.#read(owner, record.path);
        if (found !== undefined && found.docEtag === written) await this.#removeRecord(owner, record.path);
      },
    );
  }

  /** A file and a folder cannot share a name: no ancestor may be a file, and the path may not be a folder. */
  async #refuseFolderClash(owner: string, path: string): Promise<void> {
    const segments = path.split('/');
    const ancestors = segments.slice(0, -1).map((_, i) => segments.slice(0, i + 1).join('/'));
    const [children, ...clashes] = await Promise.all([
      this.store.listChildren(`${fileKey(owner, path)}/`, { limit: 1 }),
      ...ancestors.map((a) => this.store.head(fileKey(owner, a))),
    ]);
    const file = ancestors.find((_, i) => clashes[i] !== undefined);
    if (file !== undefined)
      throw new CommandError(ErrorCode.CONFLICT, `${file} is a file, so it cannot be a folder`);
    if (children.entries.length > 0) {
      throw new CommandError(ErrorCode.CONFLICT, `${path} is a folder, so it cannot be a file`);
    }
  }

  /**
   * The bytes of a write: kept in memory when they end within the inline limit (they go inside the
   * metadata document), else streamed into a fresh blob, the bytes read so far first.
   */
  async #storeBytes(
    owner: string,
    source: AsyncIterable<Buffer>,
    contentType: string,
    path: string,
  ): Promise<{ blob: string; intent?: string | undefined } | { inlineBytes: Buffer }> {
    const chunks = source[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let headBytes = 0;
    while (headBytes <= this.#inlineMaxBytes) {
      const next = await chunks.next();
      if (next.done) return { inlineBytes: Buffer.concat(head, headBytes) };
      head.push(next.value);
      headBytes += next.value.length;
    }
    async function* all() {
      try {
        yield* head.splice(0);
        for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
      } finally {
        await chunks.return?.(); // the store gave up: so does the source
      }
    }
    const blob = newBlobKey(owner);
    const intent = await this.#intents?.note({ owner, path, blob });
    try {
      await this.store.putStream(blob, all(), { contentType });
    } catch (error) {
      if (intent !== undefined) await this.#intents?.clear(intent).catch(() => undefined); // nothing was stored
      throw error;
    }
    return { blob, intent };
  }

  /** Removes a blob nobody names (one request; a missing key is fine); false when that failed. */
  async #deleteQuietly(key: string | undefined): Promise<boolean> {
    if (key === undefined) return true;
    try {
      await this.store.discard(key);
      return true;
    } catch {
      return false; // an orphaned blob costs space, not correctness (the sweep finds it: blob-intents.ts)
    }
  }
}

function checkPath(path: string): string {
  const problem = filePathProblem(path);
  if (problem !== undefined) throw new CommandError(ErrorCode.INVALID, problem);
  return path;
}

function validatorsOf(record: FileRecord): Validators {
  return {
    etag: record.etag,
    lastModified: new Date(record.updatedAt),
    lastModifiedStrong: record.lastModifiedStrong === true,
  };
}

/**
 * Evaluates the request's preconditions against the current record (undefined: no file). Throws 412
 * when they fail; resolves to 'not-modified' (GET, HEAD) or 'proceed'.
 */
function checkConditions(
  method: Method,
  conditions: Conditions,
  current: FileRecord | undefined,
): 'proceed' | 'not-modified' {
  const outcome = evaluatePreconditions(method, conditions, current && validatorsOf(current));
  if (outcome !== 'failed') return outcome;
  const what = current === undefined ? 'there is no such file' : `${current.path} is at "${current.etag}"`;
  throw new CommandError(ErrorCode.PRECONDITION_FAILED, `the preconditions do not hold: ${what}`);
}

/**
 * Whether the Last-Modified of a version written at `now` is a strong validator: no earlier version
 * shares its second (RFC 9110 §8.8.2.2), so an If-Range date can only name this version.
 */
function strongAfter(previous: FileRecord | undefined, now: Date): boolean {
  if (previous === undefined) return true;
  return Math.floor(Date.parse(previous.updatedAt) / 1000) !== Math.floor(now.getTime() / 1000);
}

/** The slug with a random suffix, or a random id when there is no slug. */
function randomName(dir: string, base: string): string {
  const name = base === '' ? randomUUID() : `${truncateStem(base)}-${randomUUID().slice(0, 8)}`;
  return checkPath(dir === '' ? name : `${dir}/${name}`);
}

const notFound = (path: string) => new CommandError(ErrorCode.NOT_FOUND, `no file ${path}`);

function encodeCursor(name: string): string {
  return Buffer.from(name).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  if (name === '' || filePathProblem(name.replace(/\/$/, '')) !== undefined) {
    throw new CommandError(ErrorCode.INVALID, 'the cursor is not one this server gave');
  }
  return name;
}

function truncateStem(name: string): string {
  return name.length > 80 ? name.slice(0, 80) : name;
}

/** A short wait with jitter before looking at a contended file again. */
const pause = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * Math.min(100, 5 * 2 ** attempt)));

const isPreconditionFailure = (error: unknown) =>
  error instanceof CommandError && error.code === ErrorCode.PRECONDITION_FAILED;

/** True when applying `patch` would change nothing: the metadata already says what it asks for. */
function patchInPlace(record: FileRecord, patch: unknown): boolean {
  const next = applyMetadataPatch(record, patch);
  return next.description === record.description && next.tags.join('\u0000') === record.tags.join('\u0000');
}
