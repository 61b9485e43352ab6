/**
 * The usage ledger: one JSON document per pod, `users/<owner>/quota/usage.json`, holding what the pod
 * stores, the operator's overrides, the reservations of writes in progress and what grantees have spent
 * of their budgets. Every change is a compare-and-swap (a put with If-Match on the version read, retried
 * with jitter), so any number of stateless workers share it safely. The policy is quota-policy.ts.
 *
 * A pod without a document (a new account, or one from before quotas) gets one counted from its objects:
 * files are the keys under `files/`, bytes the sizes under `blobs/` plus the bytes of the small files
 * kept inside their documents (see recount()).
 */
import { randomUUID } from 'node:crypto';
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import { parseRecord } from '../files/file-record.ts';
import { type ObjectStore, PreconditionFailedError } from '../storage/object-store.ts';
import {
  type Amount,
  available,
  type BudgetRef,
  emptyUsage,
  mayReserve,
  parseLimits,
  type Refusal,
  refunded,
  settled,
  type UsageDocument,
  usageView,
  withLimits,
  withoutReservation,
  withReservation,
} from './quota-policy.ts';

export interface QuotaSettings {
  /** Limits of an account without an override (QUOTA_DEFAULT_BYTES, QUOTA_DEFAULT_FILES). */
  defaults: Amount;
  /** How much an upload of unknown length reserves at a time (QUOTA_RESERVE_STEP_BYTES). */
  reserveStepBytes: number;
  /** How long a reservation holds without renewal (QUOTA_RESERVATION_TTL_MS). */
  reservationTtlMs: number;
}

export const usageKey = (owner: string) => `users/${owner}/quota/usage.json`;

interface Versioned {
  doc: UsageDocument;
  etag: string | undefined;
}

/** Swaps that may be refused (reservations, overrides) give up after this many lost races: 409. */
const MAX_ATTEMPTS = 32;
/**
 * Swaps that only record what already happened (a settle, a release, a refund) are never refused, and
 * losing one is a drift: they keep trying much longer.
 */
const MAX_RECORD_ATTEMPTS = 400;
const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt * 4)));
const LIST_PAGE = 1000;
/** Records read at once by a recount (for the bytes of inline files). */
const RECOUNT_CONCURRENCY = 16;

interface PendingChange {
  change: (doc: UsageDocument) => UsageDocument | Refusal;
  /** False for a change that only records what happened: it never creates the document. */
  create: boolean;
  resolve: (written: Versioned | undefined) => void;
  reject: (error: unknown) => void;
}

export const quotaExceeded = (reason: string) => new CommandError(ErrorCode.QUOTA_EXCEEDED, reason);

export class UsageLedger {
  constructor(
    private readonly store: ObjectStore,
    readonly settings: QuotaSettings,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The usage document as its owner sees it (used, reserved, limits, available). */
  async view(owner: string) {
    let found = await this.#read(owner);
    // Counted just now from the pod (an account from before quotas): kept, so the count is done once.
    if (found.etag === undefined) found = await this.update(owner, (doc) => doc, found);
    return usageView(found.doc, this.settings.defaults, this.clock());
  }

  /** The operator's override: `{bytes?, files?}`, each a number or null (back to the default). */
  async setLimits(owner: string, body: unknown) {
    let change: ReturnType<typeof parseLimits>;
    try {
      change = parseLimits(body);
    } catch (error) {
      throw new CommandError(ErrorCode.INVALID, (error as Error).message);
    }
    const { doc } = await this.update(owner, (doc) => withLimits(doc, change, this.clock()));
    return usageView(doc, this.settings.defaults, this.clock());
  }

  /** Drift repair: `used` counted again from the pod's objects; everything else kept. */
  async recount(owner: string) {
    const counted = await this.#count(owner);
    const now = this.clock();
    const { doc } = await this.update(owner, (doc) => ({
      ...doc,
      used: counted,
      recountedAt: now.toISOString(),
      updatedAt: now.toISOString(),
    }));
    return usageView(doc, this.settings.defaults, now);
  }

  /** A removed file gives its space back. */
  async refund(owner: string, amount: Amount): Promise<void> {
    await this.updateExisting(owner, (doc) => refunded(doc, amount, this.clock()));
  }

  /**
   * Holds `amount` for a write (charged also to `budgets`), or throws quota_exceeded. The hold is
   * settled when the write commits, released when it fails, and lapses by itself if its worker dies.
   * `as`: a reservation made earlier under that id (a resumable upload's) is taken over and replaced,
   * in the same swap, so the room it held is never free in between; `until`: when the hold lapses if
   * nobody renews or settles it (default QUOTA_RESERVATION_TTL_MS from each resize).
   */
  async reserve(
    owner: string,
    amount: Amount,
    budgets: BudgetRef[],
    mode: 'exact' | 'step' = 'exact',
    options: { as?: string | undefined; until?: Date | undefined } = {},
  ): Promise<Hold> {
    const hold = new Hold(this, owner, options.as ?? randomUUID(), budgets, options.until);
    await hold.resize(amount, mode);
    return hold;
  }

  /** Drops the reservation `id` (a resumable upload deleted or expired); nothing if there is none. */
  async forget(owner: string, id: string): Promise<void> {
    await this.updateExisting(owner, (doc) =>
      doc.reservations.some((r) => r.id === id) ? withoutReservation(doc, id, this.clock()) : doc,
    );
  }

  get now(): Date {
    return this.clock();
  }

  /**
   * Applies `change` with compare-and-swap, retried on a concurrent change; starts from `hint` (the
   * version this worker wrote last) when given, which saves the read while nobody else wrote.
   */
  async update(
    owner: string,
    change: (doc: UsageDocument) => UsageDocument | Refusal,
    hint?: Versioned,
  ): Promise<Versioned> {
    return (await this.#swap(owner, change, hint, true)) as Versioned;
  }

  /**
   * Like update, but only while the document exists: a settle, release or refund must not bring back
   * the document of an account deleted meanwhile. Nothing is written when there is none.
   */
  async updateExisting(
    owner: string,
    change: (doc: UsageDocument) => UsageDocument | Refusal,
    hint?: Versioned,
  ): Promise<Versioned | undefined> {
    return this.#swap(owner, change, hint, false);
  }

  /**
   * Group commit: the changes this worker has for one pod are applied together, in arrival order, in one
   * compare-and-swap, so concurrent writes to a pod cost one swap per worker and round rather than one
   * per write (and never race each other here). A refused change is refused alone; a lost swap retries
   * the whole batch on a fresh read.
   */
  #swap(
    owner: string,
    change: (doc: UsageDocument) => UsageDocument | Refusal,
    hint: Versioned | undefined,
    create: boolean,
  ): Promise<Versioned | undefined> {
    return new Promise((resolve, reject) => {
      const item: PendingChange = { change, create, resolve, reject };
      const queue = this.#pending.get(owner);
      if (queue !== undefined) {
        queue.push(item);
        return;
      }
      this.#pending.set(owner, [item]);
      void this.#drain(owner, hint);
    });
  }

  readonly #pending = new Map<string, PendingChange[]>();

  async #drain(owner: string, hint: Versioned | undefined): Promise<void> {
    let last = hint;
    for (;;) {
      const batch = this.#pending.get(owner) ?? [];
      if (batch.length === 0) {
        this.#pending.delete(owner);
        return;
      }
      this.#pending.set(owner, []); // what arrives meanwhile goes into the next batch
      last = await this.#commitBatch(owner, batch, last);
    }
  }

  async #commitBatch(
    owner: string,
    batch: PendingChange[],
    hint: Versioned | undefined,
  ): Promise<Versioned | undefined> {
    const create = batch.some((item) => item.create);
    const attempts = batch.some((item) => !item.create) ? MAX_RECORD_ATTEMPTS : MAX_ATTEMPTS;
    let found = hint;
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        found ??= await this.#read(owner, create);
        if (found === undefined) {
          for (const item of batch) item.resolve(undefined);
          return undefined;
        }
        const stored = found.etag !== undefined;
        let doc = found.doc;
        const outcomes: ('applied' | 'absent' | CommandError)[] = [];
        for (const item of batch) {
          if (!item.create && !stored) {
            outcomes.push('absent'); // a settle, release or refund never brings a document back
            continue;
          }
          const next = item.change(doc);
          if ('allow' in next) {
            outcomes.push(quotaExceeded(next.reason));
            continue;
          }
          doc = next;
          outcomes.push('applied');
        }
        let written: Versioned = found;
        if (doc !== found.doc || (!stored && outcomes.includes('applied'))) {
          const condition = stored ? { ifMatch: found.etag as string } : { ifNoneMatch: '*' as const };
          const { etag } = await this.store.put(usageKey(owner), Buffer.from(JSON.stringify(doc)), {
            ...condition,
            contentType: 'application/json',
          });
          written = { doc, etag };
        }
        batch.forEach((item, i) => {
          const outcome = outcomes[i];
          if (outcome instanceof CommandError) item.reject(outcome);
          else item.resolve(outcome === 'absent' ? undefined : written);
        });
        return written;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) {
          for (const item of batch) item.reject(error);
          return undefined;
        }
        found = undefined;
        await backoff(attempt);
      }
    }
    const conflict = new CommandError(
      ErrorCode.CONFLICT,
      `too many concurrent writes to ${owner}'s pod; try again`,
      1,
    );
    for (const item of batch) item.reject(conflict);
    return undefined;
  }

  /** The stored document, or a fresh one counted from the pod (etag undefined: not stored yet). */
  async #read(owner: string): Promise<Versioned>;
  async #read(owner: string, create: boolean): Promise<Versioned | undefined>;
  async #read(owner: string, create = true): Promise<Versioned | undefined> {
    const object = await this.store.get(usageKey(owner));
    if (object !== undefined)
      return { doc: JSON.parse(object.body.toString('utf8')) as UsageDocument, etag: object.etag };
    if (!create) return undefined;
    const now = this.clock();
    return {
      doc: { ...emptyUsage(now), used: await this.#count(owner), recountedAt: now.toISOString() },
      etag: undefined,
    };
  }

  /**
   * Files: the records under `files/`; bytes: every blob under `blobs/` (orphans occupy disk too), plus
   * the bytes inside the records of inline files (each record is read: a recount costs one GET per file).
   */
  async #count(owner: string): Promise<Amount> {
    let files = 0;
    let bytes = 0;
    const inlineBytes = async (key: string) => {
      const object = await this.store.get(key);
      return object === undefined ? 0 : (parseRecord(object.body).inlineBytes?.length ?? 0);
    };
    for (const [prefix, tally] of [
      [
        `users/${owner}/files/`,
        async (key: string) => {
          files++;
          bytes += await inlineBytes(key);
        },
      ],
      [
        `users/${owner}/blobs/`,
        async (_key: string, size: number) => {
          bytes += size;
        },
      ],
    ] as const) {
      let startAfter: string | undefined;
      do {
        const page = await this.store.list(prefix, {
          limit: LIST_PAGE,
          ...(startAfter === undefined ? {} : { startAfter }),
        });
        for (let i = 0; i < page.items.length; i += RECOUNT_CONCURRENCY) {
          await Promise.all(
            page.items.slice(i, i + RECOUNT_CONCURRENCY).map((item) => tally(item.key, item.size)),
          );
        }
        startAfter = page.next;
      } while (startAfter !== undefined);
    }
    return { bytes, files };
  }
}

/** A write's reservation: grown as bytes arrive, settled on commit, released on failure. */
export class Hold {
  #amount: Amount = { bytes: 0, files: 0 };
  #last: Versioned | undefined;
  #renewAt = 0;
  #done = false;

  constructor(
    private readonly ledger: UsageLedger,
    readonly owner: string,
    readonly id: string,
    readonly budgets: BudgetRef[],
    /** A fixed time the hold lapses at (a resumable upload's expiry), instead of a renewed TTL. */
    private readonly lapsesAt?: Date,
  ) {}

  get amount(): Amount {
    return this.#amount;
  }

  /**
   * Holds `amount` instead of the current hold. `exact`: just that; `step`: as much more as one reserve
   * step allows, so an upload of unknown length does not come back for every part.
   */
  async resize(amount: Amount, mode: 'exact' | 'step'): Promise<void> {
    if (mode === 'exact' && isNothing(amount) && this.#last === undefined) {
      // Nothing to hold (a replace by bytes no larger than the file's): no write to the ledger, and
      // nothing to renew until the hold grows.
      this.#amount = { bytes: 0, files: 0 };
      this.#renewAt = Number.POSITIVE_INFINITY;
      return;
    }
    const { settings } = this.ledger;
    this.#last = await this.ledger.update(
      this.owner,
      (doc) => {
        const now = this.ledger.now;
        const verdict = mayReserve(doc, settings.defaults, amount, this.budgets, now, this.id);
        if (!verdict.allow) return verdict;
        const bytes =
          mode === 'exact'
            ? amount.bytes
            : Math.max(
                amount.bytes,
                Math.min(
                  amount.bytes + settings.reserveStepBytes,
                  available(doc, settings.defaults, this.budgets, now, this.id),
                ),
              );
        this.#amount = { bytes, files: amount.files };
        return withReservation(
          doc,
          { id: this.id, ...this.#amount, budgets: this.budgets, until: this.#until() },
          now,
        );
      },
      this.#last,
    );
    this.#renewAt = this.ledger.now.getTime() + settings.reservationTtlMs / 2;
  }

  /** Makes sure the hold covers `need` (growing it, or refusing with quota_exceeded). */
  async cover(need: Amount, mode: 'exact' | 'step' = 'exact'): Promise<void> {
    if (need.bytes <= this.#amount.bytes && need.files <= this.#amount.files) {
      if (this.ledger.now.getTime() >= this.#renewAt) await this.resize(this.#amount, 'exact');
      return;
    }
    await this.resize(
      { bytes: Math.max(need.bytes, this.#amount.bytes), files: Math.max(need.files, this.#amount.files) },
      mode,
    );
  }

  /** The write is visible: its real change (`delta`) moves into the pod's usage and its budgets. */
  async settle(delta: Amount): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    if (this.#last === undefined && delta.bytes === 0 && delta.files === 0) return; // nothing held or changed
    await this.ledger.updateExisting(
      this.owner,
      (doc) => settled(doc, this.id, delta, this.budgets, this.ledger.now),
      this.#last,
    );
  }

  /** The write failed: the hold goes (if this fails too, it lapses at its expiry). */
  async release(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    if (this.#last === undefined) return; // nothing was ever held
    await this.ledger
      .updateExisting(this.owner, (doc) => withoutReservation(doc, this.id, this.ledger.now), this.#last)
      .catch(() => undefined);
  }

  #until(): string {
    if (this.lapsesAt !== undefined) return this.lapsesAt.toISOString();
    return new Date(this.ledger.now.getTime() + this.ledger.settings.reservationTtlMs).toISOString();
  }
}

/** A hold of this amount holds nothing. */
const isNothing = (amount: Amount) => amount.bytes <= 0 && amount.files <= 0;
