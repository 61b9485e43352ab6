/**
 * Runs the sweep of blob intents (blob-intents.ts) in every worker, soon after start and every
 * BLOB_SWEEP_MS: removes the blobs dead workers left behind. Sweeps by several workers at once are safe
 * (removing a removed blob is a no-op); each worker runs one sweep at a time.
 */
import type { Counter } from 'prom-client';
import type { Logger } from '../../runtime/logger.ts';
import type { BlobIntents } from './blob-intents.ts';

export class BlobSweeper {
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;

  constructor(
    private readonly intents: BlobIntents,
    private readonly everyMs: number,
    private readonly logger: Logger,
    /** podstore_worker_orphan_blobs_removed_total */
    private readonly removed?: Counter,
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
    this.#sweeping ??= this.intents
      .sweep()
      .then(({ removed, kept }) => {
        if (removed > 0) this.removed?.inc(removed);
        if (removed + kept > 0) this.logger.info({ removed, kept }, 'blob sweep: orphaned blobs removed');
      })
      .catch((error: unknown) => this.logger.warn({ err: (error as Error).message }, 'blob sweep failed'))
      .finally(() => {
        this.#sweeping = undefined;
      });
    return this.#sweeping;
  }
}
