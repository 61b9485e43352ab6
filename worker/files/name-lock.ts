/**
 * The lock that keeps the file/folder rule true under concurrency: a file and a folder may not share a
 * name, but the object store has no transactions, and on MinIO a key hides every key under it from
 * listings, so two racing creations (`c/x` and `c/x/y`) must never both be written, even for a moment.
 *
 * Two creations can clash only when one path is a prefix of the other, so they share their first
 * segment. Every creation of a file (never an overwrite, a patch or a delete, which cannot make a clash)
 * checks the rule and writes its record while holding the lock of its first segment: one small object,
 * `users/<owner>/locks/<sha-256 of the segment>`, created with a conditional put (If-None-Match: *), so
 * exactly one writer holds it. The lock is held only for the check and the record's put (a few storage
 * requests, never while bytes stream). It is a lease: a holder that dies leaves it behind for at most
 * `leaseMs`, after which a waiter takes it over with a conditional put on the stale version (If-Match),
 * so again only one wins. A holder starts its write only with `writeMarginMs` of its lease left, and a
 * write that completes when the lease may have passed to another (a store that stalled) is undone by
 * its writer, who answers 503: a taker's check may have missed it.
 *
 * One worker shares its lease among its own creations under that segment (a batch): creations in one
 * folder would otherwise go one at a time, a few a second, however many workers and connections there
 * are. Inside a batch two creations clash only if one path is the other or a folder above it, so only
 * those wait for each other, in memory; every other creation of the worker runs at once under the one
 * lease. A batch admits newcomers for `batchMs` after its lease was taken (and never with less than the
 * write margin left); then it closes, its lease is given back when its last creation ends, and the
 * worker's next batch waits `yieldMs` before it asks again, so a busy worker cannot keep the lock from
 * another worker's waiting creations.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { type ObjectStore, PreconditionFailedError } from '../storage/object-store.ts';

export interface NameLockOptions {
  /** How long a holder may keep the lock before others may take it over. */
  leaseMs?: number;
  /** The least lease a holder must have left to start its write. */
  writeMarginMs?: number;
  /** How far apart two workers' clocks may be: a lease this close to its end no longer counts as held. */
  clockSkewMs?: number;
  /** How long a creation waits for the lock before it answers 503 (retry); longer than the lease. */
  waitMs?: number;
  /** How long after taking the lock a batch still admits this worker's new creations. */
  batchMs?: number;
  /** How long the next batch waits after one closed for its age: other workers' turn. */
  yieldMs?: number;
  clock?: () => number;
}

/** What a holder may ask about its lock while it works. */
export interface Lease {
  /** Throws (503, retry) unless enough of the lease is left to start a write. */
  beforeWrite(): void;
  /**
   * Whether the lock was surely still ours a moment ago: no other worker's clock can have passed the
   * lease's end. A write that completes when this is false may have raced a taker's check.
   */
  stillHeld(): boolean;
}

interface LockBody {
  holder: string;
  /** Epoch ms after which the lock is abandoned. */
  until: number;
}

export const lockKey = (owner: string, path: string) => {
  const segment = path.split('/')[0] ?? path;
  return `users/${owner}/locks/${createHash('sha256').update(segment).digest('hex')}`;
};

const tooSlow = () =>
  new CommandError(ErrorCode.STORAGE_UNAVAILABLE, 'the store is too slow to create files safely; retry', 1);

/** This worker's hold on one lock: the creations running under it, and how it ends. */
interface Batch {
  /** Resolves with the lease once the lock is taken (rejects if it cannot be). */
  readonly taken: Promise<LockBody>;
  lease?: LockBody;
  takenAt?: number;
  /** No newcomers: too old, or its lease too short to start a write, or given back. */
  closed: boolean;
  /** It closed while still busy: the worker's next batch lets other workers' creations in first. */
  outstayed: boolean;
  /** Its creations' paths, each with when it ends. */
  readonly running: Map<string, Promise<void>>;
  /** Creations that joined and have not ended (some may still wait for the lock or a clashing path). */
  members: number;
  /** Resolves once the lock is given back (or was never taken). */
  readonly ended: Promise<void>;
  end(): void;
}

/** Whether two creations could clash: the same path, or one a folder above the other. */
export const pathsClash = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);

export class NameLocks {
  readonly #leaseMs: number;
  readonly #writeMarginMs: number;
  readonly #clockSkewMs: number;
  readonly #waitMs: number;
  readonly #batchMs: number;
  readonly #yieldMs: number;
  readonly #clock: () => number;
  /** The batch of each lock this worker holds or is taking. */
  readonly #batches = new Map<string, Batch>();

  constructor(
    private readonly store: ObjectStore,
    options: NameLockOptions = {},
  ) {
    this.#leaseMs = options.leaseMs ?? 5000;
    this.#writeMarginMs = options.writeMarginMs ?? this.#leaseMs / 2;
    this.#clockSkewMs = options.clockSkewMs ?? this.#leaseMs / 5;
    this.#waitMs = options.waitMs ?? 15_000;
    this.#batchMs = options.batchMs ?? Math.min(1000, this.#leaseMs / 5);
    this.#yieldMs = options.yieldMs ?? 50;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Runs `work` holding the lock for `path`'s first segment, beside this worker's other creations under
   * it whose paths cannot clash with `path`.
   */
  async withLock<T>(owner: string, path: string, work: (lease: Lease) => Promise<T>): Promise<T> {
    const key = lockKey(owner, path);
    const batch = await this.#join(key);
    let done: (() => void) | undefined;
    try {
      const held = await batch.taken;
      for (let clash = this.#clashing(batch, path); clash !== undefined; clash = this.#clashing(batch, path))
        await clash;
      batch.running.set(
        path,
        new Promise<void>((resolve) => {
          done = resolve;
        }),
      );
      const lease: Lease = {
        beforeWrite: () => {
          if (this.#clock() > held.until - this.#writeMarginMs) throw tooSlow();
        },
        stillHeld: () => this.#clock() < held.until - this.#clockSkewMs,
      };
      return await work(lease);
    } finally {
      if (done !== undefined) {
        batch.running.delete(path);
        done();
      }
      if (--batch.members === 0) await this.#giveBack(key, batch);
    }
  }

  #clashing(batch: Batch, path: string): Promise<void> | undefined {
    for (const [other, ends] of batch.running) if (pathsClash(other, path)) return ends;
    return undefined;
  }

  /** Joins this worker's open batch of `key`, or waits for the current one to end and starts the next. */
  async #join(key: string): Promise<Batch> {
    for (;;) {
      const current = this.#batches.get(key);
      if (current === undefined) return this.#start(key);
      if (this.#admits(current)) {
        current.members++;
        return current;
      }
      await current.ended;
      // A batch that closed while busy: let another worker's waiting creations take the lock first.
      if (current.outstayed) await sleep(this.#yieldMs * (0.5 + Math.random()));
    }
  }

  #admits(batch: Batch): boolean {
    if (batch.closed) return false;
    const { lease, takenAt } = batch;
    if (lease === undefined || takenAt === undefined) return true; // still being taken: wait with it
    const now = this.#clock();
    if (now - takenAt >= this.#batchMs || now > lease.until - this.#writeMarginMs) {
      batch.closed = true;
      batch.outstayed = true;
    }
    return !batch.closed;
  }

  #start(key: string): Batch {
    let end = () => {};
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    const batch: Batch = {
      taken: this.#acquire(key),
      closed: false,
      outstayed: false,
      running: new Map(),
      members: 1,
      ended,
      end,
    };
    batch.taken.then(
      (lease) => {
        batch.lease = lease;
        batch.takenAt = this.#clock();
      },
      () => {
        batch.closed = true;
      },
    );
    this.#batches.set(key, batch);
    return batch;
  }

  /** The batch's last creation ended: the lock goes back (if it was taken and is surely still ours). */
  async #giveBack(key: string, batch: Batch): Promise<void> {
    batch.closed = true;
    try {
      const lease = await batch.taken.catch(() => undefined);
      // Only while the lease holds is the lock surely still ours; once past, it expires by itself.
      if (lease !== undefined && this.#clock() < lease.until - this.#clockSkewMs)
        await this.store.discard(key).catch(() => undefined);
    } finally {
      if (this.#batches.get(key) === batch) this.#batches.delete(key);
      batch.end();
    }
  }

  async #acquire(key: string): Promise<LockBody> {
    const deadline = this.#clock() + this.#waitMs;
    for (let attempt = 0; ; attempt++) {
      const body: LockBody = { holder: randomUUID(), until: this.#clock() + this.#leaseMs };
      const bytes = Buffer.from(JSON.stringify(body));
      try {
        await this.store.put(key, bytes, { ifNoneMatch: '*', contentType: 'application/json' });
        return body;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
      const current = await this.store.get(key);
      if (current !== undefined && abandoned(current.body, this.#clock())) {
        try {
          await this.store.put(key, bytes, { ifMatch: current.etag, contentType: 'application/json' });
          return body;
        } catch (error) {
          if (!(error instanceof PreconditionFailedError)) throw error;
        }
      }
      if (this.#clock() > deadline) {
        throw new CommandError(
          ErrorCode.STORAGE_UNAVAILABLE,
          'too many files being created here at once; retry',
          1,
        );
      }
      // Released meanwhile: try again at once; else wait a little, longer the more it is contended.
      if (current !== undefined) await sleep(1 + Math.random() * Math.min(40, 2 ** attempt));
    }
  }
}

function abandoned(body: Buffer, now: number): boolean {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as Partial<LockBody>;
    return typeof parsed.until !== 'number' || parsed.until < now;
  } catch {
    return true;
  }
}
