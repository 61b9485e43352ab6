/**
 * Account erasure, durable and resumable. `begin` writes the tombstone (the name stays taken from then
 * on); `run` does the rest in bounded steps under a lease on the tombstone, so any worker can resume an
 * erasure whose worker died:
 *
 * 1. the account goes: its profile is removed (tokens stop resolving at once), its tokens are revoked
 *    and the `user.deleted` event is published; the time is noted (`accountGoneAt`);
 * 2. the pod is purged a page at a time (`users/<name>/...`: files, blobs, grants, audit, webhooks,
 *    idempotency records, token index), the lease renewed before each page is deleted;
 * 3. once the settle time has passed since step 1, a listing that began after it must find the pod
 *    empty: any write that saw the account alive has landed by then (incarnation.ts) and was removed;
 * 4. the owner's event history and pending webhook deliveries are purged from JetStream, the receipt
 *    says `done`, and the tombstone goes: only now is the name free for a new account.
 */
import { randomUUID } from 'node:crypto';
import type { Counter, Gauge } from 'prom-client';
import type { Logger } from '../../runtime/logger.ts';
import type { TokenService } from '../accounts/token-service.ts';
import type { EventPublisher } from '../events/event-publisher.ts';
import { type ObjectStore, PreconditionFailedError } from '../storage/object-store.ts';
import { incarnationOfDoc, profileObjectKey } from '../users/incarnation.ts';
import type { ErasureReceipt, ErasureRecords, Tombstone } from './erasure-records.ts';

export interface ErasureSettings {
  /** How long after the account is gone the last sweep of its pod begins (ERASURE_SETTLE_MS). */
  settleMs: number;
  /** How long a purge holds its tombstone without renewing it (ERASURE_LEASE_MS). */
  leaseMs: number;
  /** Objects listed and deleted per step (ERASURE_PAGE_SIZE). */
  pageSize: number;
}

export interface ErasureMetrics {
  running: Gauge;
  completed: Counter;
  resumed: Counter;
  objectsRemoved: Counter;
}

/** `done`: nothing left, the name is free; `paused`: out of budget (the lease is kept); `busy`: someone else runs it. */
export type RunResult = 'done' | 'paused' | 'busy';

const userPrefix = (username: string) => `users/${username}/`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ErasureService {
  readonly #running = new Set<string>();
  #stopped = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly records: ErasureRecords,
    private readonly tokens: TokenService,
    private readonly events: EventPublisher,
    /** Purges the owner's event history and pending webhook deliveries (no-op without NATS). */
    private readonly forgetEvents: (owner: string) => Promise<void>,
    private readonly settings: ErasureSettings,
    private readonly logger: Logger,
    private readonly metrics?: ErasureMetrics,
    /** This process, as a lease holder. */
    private readonly holder: string = randomUUID(),
  ) {}

  /** Writes the tombstone of this account (or finds the one already there: a repeated delete). */
  async begin(user: { username: string; incarnation: string; createdAt: string }): Promise<Tombstone> {
    const tombstone: Tombstone = {
      v: 1,
      username: user.username,
      incarnation: user.incarnation,
      createdAt: user.createdAt,
      erasureId: randomUUID(),
      requestedAt: new Date().toISOString(),
      removed: 0,
      // Held by this worker from the start, so that no sweeper takes it before `run` does.
      lease: { holder: this.holder, until: Date.now() + this.settings.leaseMs },
    };
    if ((await this.records.createTombstone(tombstone)) === undefined) {
      const existing = await this.records.tombstone(user.username);
      if (existing !== undefined) return existing.tombstone;
      return this.begin(user); // it completed in between: the account it erased was another
    }
    await this.records.saveReceipt(receiptOf(tombstone, 'erasing'));
    return tombstone;
  }

  async tombstone(username: string): Promise<Tombstone | undefined> {
    return (await this.records.tombstone(username))?.tombstone;
  }

  async receipt(id: string): Promise<ErasureReceipt | undefined> {
    return this.records.receipt(id);
  }

  /** True while this process works on the erasure of `username`. */
  running(username: string): boolean {
    return this.#running.has(username);
  }

  /** Runs the erasure for at most `budgetMs` (Infinity: to the end). */
  async run(username: string, budgetMs: number): Promise<RunResult> {
    if (this.#running.has(username) || this.#stopped) return 'busy';
    this.#running.add(username);
    // The gauge counts an erasure once this worker holds its lease, not while it only looks.
    const working = { counted: false };
    try {
      return await this.#run(username, performance.now() + budgetMs, () => {
        if (working.counted) return;
        working.counted = true;
        this.metrics?.running.inc();
      });
    } catch (error) {
      if (error instanceof PreconditionFailedError) return 'busy'; // the lease went to another worker
      throw error;
    } finally {
      this.#running.delete(username);
      if (working.counted) this.metrics?.running.dec();
    }
  }

  /** Goes on with an erasure after its command answered; a failure leaves it to the sweeper. */
  continueInBackground(username: string): void {
    void this.run(username, Number.POSITIVE_INFINITY).then(
      (result) => this.logger.info({ username, result }, 'erasure continued in the background'),
      (error: unknown) =>
        this.logger.warn({ err: (error as Error).message, username }, 'erasure interrupted; it will resume'),
    );
  }

  /** Ends every run at its next step (shutdown); their leases are released so another worker resumes. */
  stop(): void {
    this.#stopped = true;
  }

  async #run(username: string, deadline: number, leased: () => void): Promise<RunResult> {
    const found = await this.records.tombstone(username);
    if (found === undefined) return 'done';
    let { tombstone, etag } = found;
    const lease = tombstone.lease;
    if (lease !== undefined && lease.holder !== this.holder && lease.until > Date.now()) return 'busy';
    const resuming = lease !== undefined && lease.holder !== this.holder;
    let leasedAt = 0;
    /** Writes the tombstone with `changes` and a renewed lease; PreconditionFailedError: lost the lease. */
    const save = async (changes: Partial<Tombstone>) => {
      const next = {
        ...tombstone,
        ...changes,
        lease: changes.lease ?? { holder: this.holder, until: Date.now() + this.settings.leaseMs },
      };
      const started = performance.now();
      etag = await this.records.saveTombstone(next, etag);
      tombstone = next;
      leasedAt = started;
    };
    await save({});
    leased();
    if (resuming) {
      this.metrics?.resumed.inc();
      this.logger.info({ username, removed: tombstone.removed }, 'resuming an erasure whose worker stopped');
    }

    if (tombstone.accountGoneAt === undefined) {
      await this.#removeAccount(tombstone);
      await save({ accountGoneAt: Date.now() });
    }
    const goneAt = tombstone.accountGoneAt as number;
    for (;;) {
      if (this.#stopped) {
        await save({ lease: { holder: this.holder, until: 0 } }).catch(() => undefined);
        return 'paused';
      }
      if (performance.now() >= deadline) return 'paused';
      const listedAt = Date.now();
      const page = await this.store.list(userPrefix(username), { limit: this.settings.pageSize });
      if (page.items.length > 0) {
        // Deleting under a lease that might have lapsed could remove a next account's objects: renew first.
        if (performance.now() - leasedAt > this.settings.leaseMs / 2) {
          await save({});
          continue;
        }
        await this.store.deleteMany(page.items.map((item) => item.key));
        this.metrics?.objectsRemoved.inc(page.items.length);
        await save({ removed: tombstone.removed + page.items.length });
        await this.records.saveReceipt(receiptOf(tombstone, 'erasing'));
        continue;
      }
      const settledAt = goneAt + this.settings.settleMs;
      if (listedAt < settledAt) {
        const wait = settledAt - Date.now();
        if (wait > 0) {
          if (performance.now() + wait > deadline) return 'paused';
          await sleep(wait);
        }
        await save({});
        continue;
      }
      // An empty listing that began after the settle time: nothing of the account is left in the store.
      await this.forgetEvents(username);
      await save({});
      await this.records.saveReceipt({
        ...receiptOf(tombstone, 'done'),
        completedAt: new Date().toISOString(),
      });
      await this.records.removeTombstone(username);
      this.metrics?.completed.inc();
      this.logger.info({ username, removed: tombstone.removed }, 'account erased');
      return 'done';
    }
  }

  /**
   * The account goes at once: its last event (first, so that its own watchers get it before their
   * streams close), its profile, its tokens. Each step is safe to repeat.
   */
  async #removeAccount(tombstone: Tombstone): Promise<void> {
    await this.events.publish({
      kind: 'user.deleted',
      owner: tombstone.username,
      incarnation: tombstone.incarnation,
    });
    const profile = await this.store.get(profileObjectKey(tombstone.username));
    if (profile !== undefined) {
      const doc = JSON.parse(profile.body.toString('utf8')) as { incarnation?: string; createdAt: string };
      if (incarnationOfDoc(doc).id === tombstone.incarnation)
        await this.store.delete(profileObjectKey(tombstone.username));
    }
    await this.tokens.revokeAll(tombstone.username);
  }
}

function receiptOf(tombstone: Tombstone, state: ErasureReceipt['state']): ErasureReceipt {
  return {
    id: tombstone.erasureId,
    state,
    requestedAt: tombstone.requestedAt,
    completedAt: null,
    objectsRemoved: tombstone.removed,
  };
}
