/**
 * Finds erasures that nobody is running (their worker died or stopped) and finishes them: every worker
 * scans the tombstones at start and every ERASURE_SCAN_MS, and runs those whose lease has lapsed, one at
 * a time (the lease keeps two workers from running the same one). It also drops receipts of erasures
 * done longer ago than ERASURE_RECEIPT_TTL_S.
 */
import type { Gauge } from 'prom-client';
import type { Logger } from '../../runtime/logger.ts';
import type { ErasureRecords } from './erasure-records.ts';
import type { ErasureService } from './erasure-service.ts';

export interface SweeperSettings {
  scanMs: number;
  receiptTtlMs: number;
}

const PAGE = 1000;

export class ErasureSweeper {
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #receiptCursor: string | undefined;

  constructor(
    private readonly erasure: ErasureService,
    private readonly records: ErasureRecords,
    private readonly settings: SweeperSettings,
    private readonly logger: Logger,
    private readonly pending?: Gauge,
  ) {}

  start(): void {
    // The first scan soon after start (spread a little, so workers started together do not collide).
    const first = setTimeout(() => this.scanNow(), 200 + Math.random() * 800);
    first.unref();
    this.#timer = setInterval(() => this.scanNow(), this.settings.scanMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.erasure.stop();
  }

  /** Scans unless a scan is under way; resolves when that scan ends. */
  scanNow(): Promise<void> {
    this.#scanning ??= this.#scan()
      .catch((error: unknown) => this.logger.warn({ err: (error as Error).message }, 'erasure scan failed'))
      .finally(() => {
        this.#scanning = undefined;
      });
    return this.#scanning;
  }

  async #scan(): Promise<void> {
    let count = 0;
    let startAfter: string | undefined;
    do {
      const page = await this.records.pending(PAGE, startAfter);
      count += page.names.length;
      for (const name of page.names) {
        if (this.erasure.running(name)) continue;
        const result = await this.erasure.run(name, Number.POSITIVE_INFINITY).catch((error: unknown) => {
          this.logger.warn(
            { err: (error as Error).message, username: name },
            'erasure step failed; retried later',
          );
          return 'busy' as const;
        });
        if (result === 'done') count--;
      }
      startAfter = page.next;
    } while (startAfter !== undefined);
    this.pending?.set(count);
    const { expired, next } = await this.records.expireReceipts(
      Date.now() - this.settings.receiptTtlMs,
      PAGE,
      this.#receiptCursor,
    );
    this.#receiptCursor = next;
    if (expired > 0) this.logger.info({ expired }, 'old erasure receipts removed');
  }
}
