/**
 * Runs one kind of sweep in every worker, soon after start and every `everyMs`: the blobs dead workers
 * left behind (files/blob-intents.ts), the uploads past their expiry (uploads/uploads-service.ts).
 * Sweeps by several workers at once are safe (removing what is removed is a no-op); each worker runs
 * one sweep of a kind at a time.
 */
import type { Counter } from 'prom-client';
import type { Logger } from '../runtime/logger.ts';

export interface SweepResult {
  removed: number;
  kept: number;
}

export class PeriodicSweep {
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;

  constructor(
    /** Says what is swept, in the logs: `blob sweep`, `upload sweep`. */
    private readonly name: string,
    private readonly sweep: () => Promise<SweepResult>,
    private readonly everyMs: number,
    private readonly logger: Logger,
    /** Counts what each sweep removed (a metric). */
    private readonly removed?: Counter,
    /** What `removed` means in the log line of a sweep that removes nothing (`requeued`, for the backfill). */
    private readonly countsAs = 'removed',
  ) {}

  start(): void {
    if (this.everyMs <= 0) return;
    const first = setTimeout(() => void this.sweepNow(), 1000 + Math.random() * 4000);
    first.unref();
    this.#timer = setInterval(() => void this.sweepNow(), this.everyMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Sweeps unless a sweep is under way; resolves when it ends (failures are logged, never thrown). */
  sweepNow(): Promise<void> {
    this.#sweeping ??= this.sweep()
      .then(({ removed, kept }) => {
        if (removed > 0) this.removed?.inc(removed);
        if (removed + kept > 0) this.logger.info({ [this.countsAs]: removed, kept }, `${this.name}: done`);
      })
      .catch((error: unknown) => this.logger.warn({ err: (error as Error).message }, `${this.name} failed`))
      .finally(() => {
        this.#sweeping = undefined;
      });
    return this.#sweeping;
  }
}
