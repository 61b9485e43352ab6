/**
 * Whether the object store answers, as this worker last saw it: a ping every `intervalMs` in the
 * background, raced against the same time (a store that hangs counts as down at once, not after the
 * client's own timeout). Readiness asks for this state; it never waits for storage itself, so it stays
 * cheap and instant. State changes are logged and exported as a gauge.
 */
import type { Gauge } from 'prom-client';
import type { Logger } from '../../runtime/logger.ts';
import type { ObjectStore } from '../storage/object-store.ts';

export interface StorageState {
  ok: boolean;
  /** Why it is down (or `ok`). */
  detail: string;
  /** When the state was last confirmed, ms since the epoch. */
  checkedAt: number;
}

export class StorageHealth {
  #state: StorageState;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;

  constructor(
    private readonly store: Pick<ObjectStore, 'ping'>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly gauge?: Gauge,
    private readonly clock: () => number = Date.now,
  ) {
    // Created after the store's init() succeeded: it answered a moment ago.
    this.#state = { ok: true, detail: 'ok', checkedAt: clock() };
    gauge?.set(1);
  }

  /** The last known state; one older than three intervals (checks stopped) counts as down. */
  get state(): StorageState {
    if (this.clock() - this.#state.checkedAt > 3 * this.intervalMs) {
      return { ...this.#state, ok: false, detail: 'no recent storage check' };
    }
    return this.#state;
  }

  start(): void {
    this.#timer = setInterval(() => void this.check(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Pings the store once (one ping at a time); resolves when the state is updated. */
  check(): Promise<void> {
    this.#checking ??= this.#ping().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.intervalMs} ms`)), this.intervalMs);
    });
    const ping = this.store.ping();
    ping.catch(() => undefined); // may settle after the race was lost
    try {
      await Promise.race([ping, timeout]);
      this.#set(true, 'ok');
    } catch (error) {
      this.#set(false, (error as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  #set(ok: boolean, detail: string): void {
    if (ok !== this.#state.ok) {
      if (ok) this.logger.info('storage answers again');
      else this.logger.warn({ detail }, 'storage unavailable');
    }
    this.#state = { ok, detail, checkedAt: this.clock() };
    this.gauge?.set(ok ? 1 : 0);
  }
}
