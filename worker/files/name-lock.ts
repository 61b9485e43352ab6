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
 * so again only one wins. A holder that has less than `writeMarginMs` of its lease left when it is
 * about to write gives up (503): its write could otherwise land after the lock passed to another.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { type ObjectStore, PreconditionFailedError } from '../storage/object-store.ts';

export interface NameLockOptions {
  /** How long a holder may keep the lock before others may take it over. */
  leaseMs?: number;
  /**
   * The least lease a holder must have left when it starts its write: more than the longest a store
   * request may take (the S3 client gives up after 5 s without progress), so a write never lands after
   * another holder took the lock over.
   */
  writeMarginMs?: number;
  /** How long a creation waits for the lock before it answers 503 (retry); longer than the lease. */
  waitMs?: number;
  clock?: () => number;
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

export class NameLocks {
  readonly #leaseMs: number;
  readonly #writeMarginMs: number;
  readonly #waitMs: number;
  readonly #clock: () => number;

  constructor(
    private readonly store: ObjectStore,
    options: NameLockOptions = {},
  ) {
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#writeMarginMs = options.writeMarginMs ?? Math.min(6000, this.#leaseMs / 2);
    this.#waitMs = options.waitMs ?? 15_000;
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * Runs `work` holding the lock for `path`'s first segment. `work` gets a check to call right before
   * its write: it throws (503) when the lease is too far gone for the write to be safe.
   */
  async withLock<T>(owner: string, path: string, work: (beforeWrite: () => void) => Promise<T>): Promise<T> {
    const key = lockKey(owner, path);
    const held = await this.#acquire(key);
    const beforeWrite = () => {
      if (this.#clock() > held.until - this.#writeMarginMs) {
        throw new CommandError(
          ErrorCode.STORAGE_UNAVAILABLE,
          'the store is too slow to create files safely; retry',
          1,
        );
      }
    };
    try {
      return await work(beforeWrite);
    } finally {
      // Only while the lease holds is the lock surely still ours; once past, it expires by itself.
      if (this.#clock() < held.until) await this.store.discard(key).catch(() => undefined);
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
