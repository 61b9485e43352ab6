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

export class NameLocks {
  readonly #leaseMs: number;
  readonly #writeMarginMs: number;
  readonly #clockSkewMs: number;
  readonly #waitMs: number;
  readonly #clock: () => number;

  constructor(
    private readonly store: ObjectStore,
    options: NameLockOptions = {},
  ) {
    this.#leaseMs = options.leaseMs ?? 5000;
    this.#writeMarginMs = options.writeMarginMs ?? this.#leaseMs / 2;
    this.#clockSkewMs = options.clockSkewMs ?? this.#leaseMs / 5;
    this.#waitMs = options.waitMs ?? 15_000;
    this.#clock = options.clock ?? Date.now;
  }

  /** Runs `work` holding the lock for `path`'s first segment. */
  async withLock<T>(owner: string, path: string, work: (lease: Lease) => Promise<T>): Promise<T> {
    const key = lockKey(owner, path);
    const held = await this.#acquire(key);
    const lease: Lease = {
      beforeWrite: () => {
        if (this.#clock() > held.until - this.#writeMarginMs) throw tooSlow();
      },
      stillHeld: () => this.#clock() < held.until - this.#clockSkewMs,
    };
    try {
      return await work(lease);
    } finally {
      // Only while the lease holds is the lock surely still ours; once past, it expires by itself.
      if (lease.stillHeld()) await this.store.discard(key).catch(() => undefined);
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
