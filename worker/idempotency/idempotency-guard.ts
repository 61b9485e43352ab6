/**
 * Idempotency-Key for POST (IETF httpapi draft "The Idempotency-Key HTTP Header Field"), kept in the
 * object store so that it holds across workers and restarts:
 *
 * - first request with a key: claims the key (a conditional create of a `running` record), runs, then
 *   stores the result with the body's SHA-256 for `ttlMs`;
 * - a retry with the same key and the same request (same body): the first result, again;
 * - the same key with another request or body: `unprocessable` (422);
 * - a retry while the first still runs: `conflict` (409). The running worker renews a lease on the key;
 *   if it dies, the lease lapses and a retry takes the key over (no key is stuck for its whole lifetime);
 * - a first request that fails leaves no record, so its retry runs afresh.
 *
 * Expired records are swept now and then, per owner, when a key of that owner is claimed.
 */
import type { Counter } from 'prom-client';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { Logger } from '../../runtime/logger.ts';
import { type ObjectStore, PreconditionFailedError } from '../storage/object-store.ts';
import type { IncarnationReader } from '../users/incarnation.ts';
import { digesting } from './body-digest.ts';
import {
  type DoneRecord,
  type IdempotencyRecord,
  idempotencyPrefix,
  parseRecord,
  type RunningRecord,
  recordKey,
  serializeRecord,
} from './idempotency-record.ts';

export interface IdempotencySettings {
  /** How long a key and its result are kept. */
  ttlMs: number;
  /** How long a running request's claim holds without renewal (renewed every third of it). */
  leaseMs: number;
}

export interface IdempotentRequest {
  owner: string;
  actor: string | null;
  /** The client's Idempotency-Key. */
  key: string;
  /** Hash of everything about the request but its body. */
  fingerprint: string;
  /** How long this key is kept, when shorter than the configured time (keys the api made up itself). */
  ttlMs?: number;
}

export type IdempotencyResult = 'new' | 'replayed' | 'mismatch' | 'in_progress' | 'taken_over';

const MAX_KEY_LENGTH = 255;
const SWEEP_EVERY_MS = 3_600_000;
const SWEEP_BATCH = 1000;
const MAX_SWEPT_OWNERS = 10_000;

export class IdempotencyGuard {
  readonly #sweptAt = new Map<string, number>();

  constructor(
    private readonly store: ObjectStore,
    private readonly settings: IdempotencySettings,
    private readonly logger: Logger,
    private readonly counter?: Counter<'result'>,
    private readonly clock: () => number = Date.now,
    /** With it, keys are per account incarnation (owner and caller), not per name (incarnation.ts). */
    private readonly accounts?: IncarnationReader,
  ) {}

  /**
   * Runs `work` on `body` once per key: a retry gets the first value back (its body is read and
   * compared, not stored again).
   */
  async run<T>(
    request: IdempotentRequest,
    body: AsyncIterable<Buffer>,
    work: (body: AsyncIterable<Buffer>) => Promise<T>,
  ): Promise<T> {
    if (request.key.length === 0 || request.key.length > MAX_KEY_LENGTH) {
      throw new CommandError(ErrorCode.INVALID, `an Idempotency-Key has 1 to ${MAX_KEY_LENGTH} characters`);
    }
    const accounts = this.accounts === undefined ? '' : await this.#incarnations(request);
    const key = recordKey(request.owner, request.actor, request.key, accounts);
    const found = await this.store.get(key);
    const existing = found === undefined ? undefined : parseRecord(found.body);
    const now = this.clock();
    const live = existing !== undefined && existing.expiresAt > now ? existing : undefined;

    if (live?.state === 'done') return this.#replay(live, request, body);
    if (live?.state === 'running' && live.leaseUntil > now) {
      this.#count('in_progress');
      throw new CommandError(
        ErrorCode.CONFLICT,
        'a request with this Idempotency-Key is still being processed; retry later',
        Math.max(1, Math.ceil((live.leaseUntil - now) / 1000)),
      );
    }
    // Free, expired, damaged, or abandoned by a worker that died: claim it.
    const claim = new Claim(this.store, key, this.settings.leaseMs, this.logger, this.clock);
    const ttlMs = Math.min(request.ttlMs ?? this.settings.ttlMs, this.settings.ttlMs);
    try {
      await claim.take(request.fingerprint, ttlMs, found?.etag);
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      this.#count('in_progress');
      throw new CommandError(
        ErrorCode.CONFLICT,
        'a request with this Idempotency-Key is being processed; retry later',
        Math.max(1, Math.ceil(this.settings.leaseMs / 1000)),
      );
    }
    this.#count(live?.state === 'running' ? 'taken_over' : 'new');
    this.#sweepSometimes(request.owner);
    const digest = digesting(body);
    let result: T;
    try {
      result = await work(digest.bytes);
    } catch (error) {
      await claim.release();
      throw error;
    }
    await claim.complete(request.fingerprint, digest.hex(), result, ttlMs);
    return result;
  }

  /**
   * The owner's and the caller's account incarnations: a record made for an earlier account of either
   * name is never found by a later one (a deleted caller's records stay in other owners' pods until
   * they expire).
   */
  async #incarnations(request: IdempotentRequest): Promise<string> {
    if (this.accounts === undefined) return '';
    const of = async (name: string | null) =>
      name === null || name.startsWith('@') ? '' : ((await this.accounts?.current(name))?.id ?? '');
    const [owner, actor] = await Promise.all([of(request.owner), of(request.actor)]);
    return `${owner}\n${actor}`;
  }

  async #replay<T>(record: DoneRecord, request: IdempotentRequest, body: AsyncIterable<Buffer>): Promise<T> {
    if (record.fingerprint !== request.fingerprint) return this.#mismatch('request');
    const digest = digesting(body);
    for await (const _ of digest.bytes) {
      // read to the end: only the hash is kept
    }
    if (digest.hex() !== record.bodySha256) return this.#mismatch('body');
    this.#count('replayed');
    return record.result as T;
  }

  #mismatch(what: string): never {
    this.#count('mismatch');
    throw new CommandError(
      ErrorCode.UNPROCESSABLE,
      `this Idempotency-Key was used with another ${what}; use a new key for a new request`,
    );
  }

  #count(result: IdempotencyResult): void {
    this.counter?.inc({ result });
  }

  /** Deletes this owner's expired records, at most once an hour per owner and worker, in the background. */
  #sweepSometimes(owner: string): void {
    const now = this.clock();
    if (now - (this.#sweptAt.get(owner) ?? 0) < SWEEP_EVERY_MS) return;
    if (this.#sweptAt.size >= MAX_SWEPT_OWNERS) this.#sweptAt.clear();
    this.#sweptAt.set(owner, now);
    void this.#sweep(owner, now).catch((error: unknown) =>
      this.logger.warn({ err: (error as Error).message, owner }, 'idempotency sweep failed'),
    );
  }

  async #sweep(owner: string, now: number): Promise<void> {
    // A record is rewritten at least when it completes, so one untouched for ttl + lease has expired.
    const cutoff = now - this.settings.ttlMs - this.settings.leaseMs;
    const page = await this.store.list(idempotencyPrefix(owner), { limit: SWEEP_BATCH });
    for (const item of page.items) {
      if (item.lastModified.getTime() < cutoff) await this.store.delete(item.key);
    }
  }
}

/** One worker's hold on a key: taken, renewed while the work runs, then completed or released. */
class Claim {
  #etag: string | undefined;
  #renewal: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #record: RunningRecord | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly key: string,
    private readonly leaseMs: number,
    private readonly logger: Logger,
    private readonly clock: () => number,
  ) {}

  /** Writes the running record over `previousEtag` (or where none is); PreconditionFailedError if raced. */
  async take(fingerprint: string, ttlMs: number, previousEtag: string | undefined): Promise<void> {
    const now = this.clock();
    this.#record = {
      v: 1,
      state: 'running',
      fingerprint,
      leaseUntil: now + this.leaseMs,
      expiresAt: now + ttlMs,
      createdAt: new Date(now).toISOString(),
    };
    this.#etag = await this.#write(this.#record, previousEtag);
    this.#renewal = setInterval(() => this.#renew(), Math.max(10, Math.floor(this.leaseMs / 3)));
    this.#renewal.unref();
  }

  async complete(fingerprint: string, bodySha256: string, result: unknown, ttlMs: number): Promise<void> {
    await this.#stop();
    const now = this.clock();
    const record: DoneRecord = {
      v: 1,
      state: 'done',
      fingerprint,
      bodySha256,
      result,
      expiresAt: now + ttlMs,
      createdAt: this.#record?.createdAt ?? new Date(now).toISOString(),
      completedAt: new Date(now).toISOString(),
    };
    try {
      await this.#write(record, this.#etag);
    } catch (error) {
      // The work is done and its answer goes out; only a retry after the lease would run it again.
      this.logger.warn({ err: (error as Error).message, key: this.key }, 'idempotency result not stored');
    }
  }

  /** The work failed: nothing happened, so the key is free again for a retry. */
  async release(): Promise<void> {
    await this.#stop();
    await this.store.delete(this.key).catch((error: unknown) => {
      // The lease will lapse on its own.
      this.logger.warn({ err: (error as Error).message, key: this.key }, 'idempotency key not released');
    });
  }

  async #stop(): Promise<void> {
    clearInterval(this.#renewal);
    this.#renewal = undefined;
    await this.#writing;
  }

  #renew(): void {
    const record = this.#record;
    if (record === undefined) return;
    this.#writing = this.#writing.then(async () => {
      if (this.#renewal === undefined) return;
      const renewed = { ...record, leaseUntil: this.clock() + this.leaseMs };
      try {
        this.#etag = await this.#write(renewed, this.#etag);
        this.#record = renewed;
      } catch (error) {
        this.logger.warn({ err: (error as Error).message, key: this.key }, 'idempotency lease not renewed');
        if (error instanceof PreconditionFailedError) clearInterval(this.#renewal); // taken over
      }
    });
  }

  async #write(record: IdempotencyRecord, etag: string | undefined): Promise<string> {
    const condition = etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: etag };
    const written = await this.store.put(this.key, serializeRecord(record), {
      ...condition,
      contentType: 'application/json',
    });
    return written.etag;
  }
}
