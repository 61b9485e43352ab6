/**
 * Audit entries whose write failed (the store was unreachable, or the owner's account could not be
 * looked up) are not dropped: they wait here, in memory and bounded, and are written again with growing
 * delays until the store takes them or `maxAgeMs` passes. Every failure is reported (logged with the
 * whole entry and counted by the worker), so an entry this worker finally gives up on, or that dies with
 * it, is still in the logs. docs/security.md ("The audit log").
 */

export interface PendingAudit<T> {
  item: T;
  firstFailure: number;
  attempts: number;
  dueAt: number;
}

export type AuditFailureEvent = 'retrying' | 'written' | 'lost';

export interface AuditRetryOptions {
  /** Entries held at most; one more is lost (and reported). */
  maxEntries: number;
  /** How long an entry is retried before it is given up. */
  maxAgeMs: number;
  /** First delay; doubles per attempt up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_AUDIT_RETRY: AuditRetryOptions = {
  maxEntries: 10_000,
  maxAgeMs: 600_000,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
};

export class AuditRetryQueue<T> {
  readonly #pending: PendingAudit<T>[] = [];
  #running = false;

  constructor(
    private readonly write: (item: T) => Promise<void>,
    private readonly report: (event: AuditFailureEvent, item: T, error?: unknown) => void,
    private readonly options: AuditRetryOptions = DEFAULT_AUDIT_RETRY,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get size(): number {
    return this.#pending.length;
  }

  /** A write of `item` just failed with `error`: held for another try, or lost when the queue is full. */
  add(item: T, error: unknown): void {
    if (this.#pending.length >= this.options.maxEntries) {
      this.report('lost', item, error);
      return;
    }
    const now = this.now();
    this.#pending.push({ item, firstFailure: now, attempts: 1, dueAt: now + this.options.baseDelayMs });
    this.report('retrying', item, error);
  }

  /** Tries every entry that is due, once; resolves when they are written or rescheduled. */
  async retryDue(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      const now = this.now();
      const due = this.#pending.filter((p) => p.dueAt <= now);
      for (const pending of due) {
        try {
          await this.write(pending.item);
          this.#remove(pending);
          this.report('written', pending.item);
        } catch (error) {
          pending.attempts++;
          if (this.now() - pending.firstFailure >= this.options.maxAgeMs) {
            this.#remove(pending);
            this.report('lost', pending.item, error);
            continue;
          }
          const delay = Math.min(
            this.options.maxDelayMs,
            this.options.baseDelayMs * 2 ** (pending.attempts - 1),
          );
          pending.dueAt = this.now() + delay;
        }
      }
    } finally {
      this.#running = false;
    }
  }

  #remove(pending: PendingAudit<T>): void {
    const at = this.#pending.indexOf(pending);
    if (at >= 0) this.#pending.splice(at, 1);
  }
}
