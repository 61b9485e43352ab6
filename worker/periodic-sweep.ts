/**
 * Runs one kind of sweep now and then: the blobs dead workers left behind (files/blob-intents.ts), the
 * uploads past their expiry (uploads/uploads-service.ts), the processing backfill's walk over every pod
 * (processing/processing-backfill.ts).
 *
 * With `turns` (sweep-turns.ts), the workers of a deployment take turns: each checks every
 * `min(everyMs, 60 s)` (first 1–5 s after its start) whether a sweep is due and nobody runs one, and
 * only the worker that takes the turn sweeps, renewing its lease meanwhile; a sweep whose turn was lost
 * (another worker took it over after this one stalled) is told to stop through its AbortSignal. Without
 * `turns` (one process, tests), it sweeps every `everyMs`. Either way one worker runs one sweep of a kind
 * at a time, and sweeps by several workers at once would still be safe (removing what is removed is a
 * no-op); the turns only save the repeated work.
 */
import type { Counter } from 'prom-client';
import type { Logger } from '../runtime/logger.ts';
import type { SweepTurns } from './sweep-turns.ts';

export interface SweepResult {
  removed: number;
  kept: number;
}

export interface PeriodicSweepOptions {
  /** Says what is swept, in the logs: `blob sweep`, `upload sweep`. */
  name: string;
  /** One sweep; it should stop early (resolve with what it did) when `signal` aborts. */
  sweep: (signal: AbortSignal) => Promise<SweepResult>;
  /** 0: never. */
  everyMs: number;
  logger: Logger;
  /** Counts what each sweep removed (a metric). */
  counter?: Counter;
  /** What the count means in the log line (`requeued`, for the backfill); default `removed`. */
  countsAs?: string;
  /** The deployment's turns for this sweep; without it this worker sweeps on its own schedule. */
  turns?: SweepTurns;
}

/** How often a worker asks whether it is its turn, at most. */
const MAX_CHECK_MS = 60_000;

export class PeriodicSweep {
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  readonly #abort = new AbortController();

  constructor(private readonly options: PeriodicSweepOptions) {}

  start(): void {
    const { everyMs, turns } = this.options;
    if (everyMs <= 0) return;
    const first = setTimeout(() => void this.sweepNow(), 1000 + Math.random() * 4000);
    first.unref();
    this.#timer = setInterval(
      () => void this.sweepNow(),
      turns === undefined ? everyMs : Math.min(everyMs, MAX_CHECK_MS),
    );
    this.#timer.unref();
  }

  /** No more sweeps; one under way is told to stop (it ends at its next step). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
  }

  /**
   * Sweeps (if it is this worker's turn) unless a sweep is under way here; resolves when it ends.
   * Failures are logged, never thrown.
   */
  sweepNow(): Promise<void> {
    this.#sweeping ??= this.#run()
      .catch((error: unknown) =>
        this.options.logger.warn({ err: (error as Error).message }, `${this.options.name} failed`),
      )
      .finally(() => {
        this.#sweeping = undefined;
      });
    return this.#sweeping;
  }

  async #run(): Promise<void> {
    const { turns } = this.options;
    if (this.#abort.signal.aborted) return;
    if (turns === undefined) {
      this.#report(await this.options.sweep(this.#abort.signal));
      return;
    }
    const turn = await turns.take();
    if (turn === undefined) return; // not due, or another worker sweeps
    // This sweep stops when the worker stops or when the turn is lost.
    const abort = new AbortController();
    const onStop = () => abort.abort();
    this.#abort.signal.addEventListener('abort', onStop);
    const renewal = setInterval(() => {
      turn.renew().then(
        (held) => {
          if (!held) {
            this.options.logger.warn(`${this.options.name}: another worker took the turn over; stopping`);
            abort.abort();
          }
        },
        (error: unknown) =>
          this.options.logger.warn(
            { err: (error as Error).message },
            `${this.options.name}: lease renewal failed`,
          ),
      );
    }, turn.renewEveryMs);
    renewal.unref();
    let swept = false;
    try {
      this.#report(await this.options.sweep(abort.signal));
      swept = !abort.signal.aborted;
    } finally {
      clearInterval(renewal);
      this.#abort.signal.removeEventListener('abort', onStop);
      await turn.end(swept);
    }
  }

  #report({ removed, kept }: SweepResult): void {
    if (removed > 0) this.options.counter?.inc(removed);
    if (removed + kept > 0)
      this.options.logger.info(
        { [this.options.countsAs ?? 'removed']: removed, kept },
        `${this.options.name}: done`,
      );
  }
}
