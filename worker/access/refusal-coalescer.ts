/**
 * Refused requests are audited without letting a caller write unbounded data into someone's pod: per
 * pod and caller, the first `burst` refusals of a window are recorded one by one; the rest of that
 * window are only counted, per action and outcome, and recorded as one summary entry each when the
 * window ends. A flood of refusals so costs the pod at most `burst` + one summary per action and outcome
 * per window (per worker), and the log still says who was refused, for what, and how often.
 *
 * Pure state: the caller records what `admit` says to record, and writes what `due` returns.
 */

export interface Refusal {
  action: string;
  outcome: string;
  path?: string;
  requestId?: string;
}

/** The refusals of a window past its burst, for one pod, caller, action and outcome. */
export interface RefusalSummary extends Refusal {
  owner: string;
  /** Which account of the owner's name the refusals were against (its createdAt), when known. */
  ownerSince?: string;
  actor: string | null;
  /** How many refused requests the summary stands for. */
  count: number;
  /** When the first and the last of them came (ms since the epoch); `path` and `requestId` are the last's. */
  firstTime: number;
  lastTime: number;
}

export interface CoalescerOptions {
  windowMs: number;
  /** Refusals per pod and caller recorded one by one in each window. */
  burst: number;
  /** Windows kept open at once; when full, the oldest is closed early. */
  maxWindows: number;
}

interface Window {
  owner: string;
  ownerSince: string | undefined;
  actor: string | null;
  start: number;
  recorded: number;
  pending: Map<string, RefusalSummary>;
}

export class RefusalCoalescer {
  readonly #windows = new Map<string, Window>();
  #closed: RefusalSummary[] = [];

  constructor(private readonly options: CoalescerOptions) {}

  /** A refused request: true when it is to be recorded on its own, false when it was counted. */
  admit(owner: string, actor: string | null, refusal: Refusal, now: number, ownerSince?: string): boolean {
    const key = JSON.stringify([owner, ownerSince ?? null, actor]);
    let window = this.#windows.get(key);
    if (window !== undefined && now - window.start >= this.options.windowMs) {
      this.#close(key, window);
      window = undefined;
    }
    if (window === undefined) {
      if (this.#windows.size >= this.options.maxWindows) {
        const [oldestKey, oldest] = this.#windows.entries().next().value as [string, Window];
        this.#close(oldestKey, oldest);
      }
      window = { owner, ownerSince, actor, start: now, recorded: 0, pending: new Map() };
      this.#windows.set(key, window);
    }
    if (window.recorded < this.options.burst) {
      window.recorded++;
      return true;
    }
    const kind = JSON.stringify([refusal.action, refusal.outcome]);
    const pending = window.pending.get(kind);
    const last = {
      ...(refusal.path === undefined ? {} : { path: refusal.path }),
      ...(refusal.requestId === undefined ? {} : { requestId: refusal.requestId }),
    };
    if (pending === undefined) {
      window.pending.set(kind, {
        owner,
        ...(ownerSince === undefined ? {} : { ownerSince }),
        actor,
        action: refusal.action,
        outcome: refusal.outcome,
        ...last,
        count: 1,
        firstTime: now,
        lastTime: now,
      });
    } else {
      delete pending.path;
      delete pending.requestId;
      Object.assign(pending, last, { count: pending.count + 1, lastTime: now });
    }
    return false;
  }

  /** The summaries of every window that ended by `now` (or was closed early), to be written. */
  due(now: number): RefusalSummary[] {
    for (const [key, window] of this.#windows)
      if (now - window.start >= this.options.windowMs) this.#close(key, window);
    const closed = this.#closed;
    this.#closed = [];
    return closed;
  }

  /** Every summary, open windows included (at shutdown). */
  drain(): RefusalSummary[] {
    for (const [key, window] of this.#windows) this.#close(key, window);
    return this.due(Number.POSITIVE_INFINITY);
  }

  /** Windows open now (for tests and metrics). */
  get openWindows(): number {
    return this.#windows.size;
  }

  #close(key: string, window: Window): void {
    this.#windows.delete(key);
    this.#closed.push(...window.pending.values());
  }
}
