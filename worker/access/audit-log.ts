/**
 * The owner's audit log: one small document per entry under `users/<owner>/audit/`, named by inverted
 * time so that the store's ascending key order lists the newest first.
 *
 * Allowed accesses are recorded one by one. Refused ones go through a RefusalCoalescer: a few per caller
 * and window one by one, the rest as summary entries with a `count`, so nobody can grow someone else's log
 * without bound. Entries older than the retention are not listed and are pruned from the store.
 */
import { randomBytes } from 'node:crypto';
import type { AuditEntry } from '../../protocol/audit-entry.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { profileKey } from '../users/users-service.ts';
import { type AuditFailureEvent, AuditRetryQueue } from './audit-retry.ts';
import { type Refusal, RefusalCoalescer, type RefusalSummary } from './refusal-coalescer.ts';

export type { AuditEntry } from '../../protocol/audit-entry.ts';

export interface AuditSettings {
  /** Entries older than this many days are dropped; 0 keeps them for ever. */
  retentionDays: number;
  /** Refused requests per pod and caller recorded one by one in each window. */
  refusedBurst: number;
  refusedWindowMs: number;
}

export const DEFAULT_AUDIT_SETTINGS: AuditSettings = {
  retentionDays: 365,
  refusedBurst: 10,
  refusedWindowMs: 300_000,
};

const prefix = (owner: string) => `users/${owner}/audit/`;
const MAX_TIME = 9_999_999_999_999;
const inverted = (ms: number) => String(MAX_TIME - ms).padStart(13, '0');
const DAY_MS = 86_400_000;
/** A worker prunes one pod's log at most this often. */
const PRUNE_EVERY_MS = 600_000;
const PRUNE_BATCH = 1000;
const MAX_PRUNE_MEMORY = 10_000;
const LIST_CONCURRENCY = 32;

/** An entry on its way to an owner's log (what a failed write keeps for another try). */
export interface OwedEntry {
  owner: string;
  entry: Omit<AuditEntry, 'time'>;
  time: Date;
  /** The owner's account when the request began (undefined: not known); another account's log never gets it. */
  expectedSince?: string | undefined;
}

export type AuditFailureReporter = (event: AuditFailureEvent, owed: OwedEntry, error?: unknown) => void;

export class AuditLog {
  readonly #refusals: RefusalCoalescer;
  readonly #owed: AuditRetryQueue<OwedEntry>;
  readonly #lastPrune = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly settings: AuditSettings = DEFAULT_AUDIT_SETTINGS,
    private readonly clock: () => Date = () => new Date(),
    /**
     * createdAt of an account (undefined: none). Entries go to the owner's account of the moment of the
     * request only: a summary written later never lands in a later account that took the name meanwhile.
     */
    private readonly accountSince?: (name: string) => Promise<string | undefined>,
    /** Told of every entry whose write failed, was written on a later try, or was given up. */
    report: AuditFailureReporter = () => {},
  ) {
    this.#owed = new AuditRetryQueue((owed) => this.#recordOwed(owed), report);
    this.#refusals = new RefusalCoalescer({
      windowMs: settings.refusedWindowMs,
      burst: settings.refusedBurst,
      maxWindows: 10_000,
    });
  }

  /** Entries whose write failed and waits for another try. */
  get owed(): number {
    return this.#owed.size;
  }

  /** Writes the summaries of ended windows, and entries owed after a failure, every so often, until stop(). */
  start(): void {
    if (this.#timer !== undefined) return;
    const every = Math.max(100, Math.min(this.settings.refusedWindowMs / 4, 5000));
    this.#timer = setInterval(() => void this.flush(), every);
    this.#timer.unref();
  }

  /** Stops the timer and writes every summary still open. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#writeSummaries(this.#refusals.drain());
  }

  /** Writes the summaries of windows that ended, and the owed entries that are due. */
  async flush(): Promise<void> {
    await this.#writeSummaries(this.#refusals.due(this.clock().getTime()));
    await this.#owed.retryDue();
  }

  /**
   * note(), never failing the caller: an entry whose write fails (or whose owner cannot be looked up)
   * is kept and written again later (audit-retry.ts), and reported either way.
   */
  async noteOrOwe(owner: string, entry: Omit<AuditEntry, 'time'>, expectedSince?: string): Promise<void> {
    const time = this.clock();
    try {
      await this.note(owner, entry, expectedSince, time);
    } catch (error) {
      this.#owed.add({ owner, entry, time, expectedSince }, error);
    }
  }

  /**
   * One request by someone other than the owner (or a grant change): recorded at once when allowed, or
   * when refused within its caller's burst; otherwise counted into a summary. Pods of owners that do not
   * exist get no log.
   */
  async note(
    owner: string,
    entry: Omit<AuditEntry, 'time'>,
    expectedSince?: string,
    time = this.clock(),
  ): Promise<void> {
    const ownerSince = await this.#ownerSince(owner);
    if (!sameAccount(ownerSince, expectedSince)) return;
    if (entry.outcome !== 'allowed') {
      const refusal: Refusal = {
        action: entry.action,
        outcome: entry.outcome,
        ...(entry.path === undefined ? {} : { path: entry.path }),
        ...(entry.requestId === undefined ? {} : { requestId: entry.requestId }),
      };
      const since = ownerSince === true ? undefined : ownerSince;
      if (!this.#refusals.admit(owner, entry.actor, refusal, time.getTime(), since)) return;
    }
    await this.record(owner, entry, time);
  }

  /** An owed entry, again: written unless its owner's account is gone (then it has no log to go to). */
  async #recordOwed(owed: OwedEntry): Promise<void> {
    if (!sameAccount(await this.#ownerSince(owed.owner), owed.expectedSince)) return;
    await this.record(owed.owner, owed.entry, owed.time);
  }

  /** Writes one entry, at `time` (default now). */
  async record(owner: string, entry: Omit<AuditEntry, 'time'>, time = this.clock()): Promise<void> {
    const name = `${inverted(time.getTime())}-${randomBytes(6).toString('hex')}`;
    const full: AuditEntry = { time: time.toISOString(), ...entry };
    await this.store.put(`${prefix(owner)}${name}.json`, Buffer.from(JSON.stringify(full)), {
      ifNoneMatch: '*',
      contentType: 'application/json',
    });
    if (this.settings.retentionDays > 0 && this.#pruneDue(owner))
      void this.prune(owner).catch(() => undefined);
  }

  /** Newest first, paginated with an opaque cursor; nothing older than the retention. */
  async list(
    owner: string,
    options: { cursor?: string; limit?: number } = {},
  ): Promise<{ entries: AuditEntry[]; next: string | null }> {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const startAfter =
      options.cursor === undefined
        ? undefined
        : `${prefix(owner)}${Buffer.from(options.cursor, 'base64url').toString('utf8')}`;
    const page = await this.store.list(prefix(owner), {
      limit,
      ...(startAfter === undefined ? {} : { startAfter }),
    });
    const oldest = this.#cutoff(owner);
    const kept = page.items.filter((item) => oldest === undefined || item.key <= oldest);
    // A bounded number of reads at once: a page of 1000 entries must not flood the store.
    const entries: (AuditEntry | undefined)[] = [];
    for (let i = 0; i < kept.length; i += LIST_CONCURRENCY) {
      const batch = kept.slice(i, i + LIST_CONCURRENCY).map(async (item) => {
        const object = await this.store.get(item.key);
        return object === undefined ? undefined : (JSON.parse(object.body.toString('utf8')) as AuditEntry);
      });
      entries.push(...(await Promise.all(batch)));
    }
    const next =
      page.next === undefined || kept.length < page.items.length
        ? null
        : Buffer.from(page.next.slice(prefix(owner).length)).toString('base64url');
    return { entries: entries.filter((e): e is AuditEntry => e !== undefined), next };
  }

  /** Deletes the entries older than the retention (at most a few batches a call); how many went. */
  async prune(owner: string): Promise<number> {
    const oldest = this.#cutoff(owner);
    if (oldest === undefined) return 0;
    let removed = 0;
    for (let batch = 0; batch < 10; batch++) {
      const page = await this.store.list(prefix(owner), { startAfter: oldest, limit: PRUNE_BATCH });
      for (let i = 0; i < page.items.length; i += 16) {
        const deleted = await Promise.all(
          page.items.slice(i, i + 16).map((item) => this.store.delete(item.key)),
        );
        removed += deleted.filter(Boolean).length;
      }
      if (page.next === undefined) break;
    }
    return removed;
  }

  /** The key after which every entry of a log is past the retention (keys grow as time goes back). */
  #cutoff(owner: string): string | undefined {
    if (this.settings.retentionDays <= 0) return undefined;
    return `${prefix(owner)}${inverted(this.clock().getTime() - this.settings.retentionDays * DAY_MS)}`;
  }

  #pruneDue(owner: string): boolean {
    const now = this.clock().getTime();
    const last = this.#lastPrune.get(owner);
    if (last !== undefined && now - last < PRUNE_EVERY_MS) return false;
    if (this.#lastPrune.size >= MAX_PRUNE_MEMORY) this.#lastPrune.clear();
    this.#lastPrune.set(owner, now);
    return true;
  }

  /**
   * The owner's account: its createdAt (true when only its existence is known); undefined: none. A
   * look-up that fails is an error, never "no account": the entry is then owed, not dropped.
   */
  async #ownerSince(owner: string): Promise<string | true | undefined> {
    if (this.accountSince !== undefined) return this.accountSince(owner);
    return (await this.store.head(profileKey(owner))) === undefined ? undefined : true;
  }

  async #writeSummaries(summaries: RefusalSummary[]): Promise<void> {
    await Promise.all(
      summaries.map(async ({ owner, ownerSince, firstTime, lastTime, ...summary }) => {
        const owed: OwedEntry = {
          owner,
          entry: { ...summary, firstTime: new Date(firstTime).toISOString() },
          time: new Date(lastTime),
          expectedSince: ownerSince,
        };
        await this.#recordOwed(owed).catch((error: unknown) => this.#owed.add(owed, error));
      }),
    );
  }
}

/** Whether the account seen now is the one an entry was made under (or, unknown then, any account). */
function sameAccount(now: string | true | undefined, expected: string | undefined): boolean {
  if (now === undefined) return false;
  return expected === undefined || now === true || now === expected;
}
