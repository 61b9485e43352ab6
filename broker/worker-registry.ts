/**
 * The workers the broker knows: what each serves, how many commands it may run at once, how many it
 * runs now, and when it was last heard from. Pure bookkeeping; no sockets, no clocks of its own.
 */
export interface WorkerEntry {
  /** Hex of the worker's ZeroMQ routing id. */
  id: string;
  identity: Buffer;
  services: string[];
  capacity: number;
  /** Keys of the requests this worker is executing. */
  inFlight: Set<string>;
  /** Set when the worker said DISCONNECT: it finishes what it has and gets nothing new. */
  draining: boolean;
  expiresAt: number;
  lastDispatchAt: number;
  dispatched: number;
}

export class WorkerRegistry {
  readonly #workers = new Map<string, WorkerEntry>();

  constructor(private readonly livenessMs: number) {}

  get size(): number {
    return this.#workers.size;
  }

  all(): IterableIterator<WorkerEntry> {
    return this.#workers.values();
  }

  get(id: string): WorkerEntry | undefined {
    return this.#workers.get(id);
  }

  /** Adds a worker, or re-registers one (keeping what it has in flight). */
  register(identity: Buffer, services: string[], capacity: number, now: number): WorkerEntry {
    const id = identity.toString('hex');
    const existing = this.#workers.get(id);
    const entry: WorkerEntry = {
      id,
      identity,
      services,
      capacity,
      inFlight: existing?.inFlight ?? new Set(),
      draining: false,
      expiresAt: now + this.livenessMs,
      lastDispatchAt: existing?.lastDispatchAt ?? 0,
      dispatched: existing?.dispatched ?? 0,
    };
    this.#workers.set(id, entry);
    return entry;
  }

  /** Records that the worker spoke; returns false if it is unknown. */
  touch(id: string, now: number): boolean {
    const entry = this.#workers.get(id);
    if (entry === undefined) return false;
    entry.expiresAt = now + this.livenessMs;
    return true;
  }

  remove(id: string): WorkerEntry | undefined {
    const entry = this.#workers.get(id);
    this.#workers.delete(id);
    return entry;
  }

  /** Workers whose liveness ran out by `now`. */
  expired(now: number): WorkerEntry[] {
    return [...this.#workers.values()].filter((w) => w.expiresAt <= now);
  }

  /**
   * The least-loaded worker with free capacity for `service` (load = in flight / capacity); among equals,
   * the one that was dispatched to longest ago, so light traffic still spreads over every worker.
   */
  pick(service: string): WorkerEntry | undefined {
    let best: WorkerEntry | undefined;
    for (const w of this.#workers.values()) {
      if (w.draining || w.inFlight.size >= w.capacity || !w.services.includes(service)) continue;
      if (best === undefined) {
        best = w;
        continue;
      }
      const load = w.inFlight.size / w.capacity;
      const bestLoad = best.inFlight.size / best.capacity;
      if (load < bestLoad || (load === bestLoad && w.lastDispatchAt < best.lastDispatchAt)) best = w;
    }
    return best;
  }

  /**
   * A live, non-draining worker serving `service` whatever its load: the one dispatched to longest ago.
   * For commands a worker answers from memory (`health`), which must not wait behind busy workers.
   */
  pickAny(service: string): WorkerEntry | undefined {
    let best: WorkerEntry | undefined;
    for (const w of this.#workers.values()) {
      if (w.draining || !w.services.includes(service)) continue;
      if (best === undefined || w.lastDispatchAt < best.lastDispatchAt) best = w;
    }
    return best;
  }

  /** How many live, non-draining workers serve `service`. */
  countServing(service: string): number {
    let n = 0;
    for (const w of this.#workers.values()) if (!w.draining && w.services.includes(service)) n++;
    return n;
  }
}
