/**
 * The workers the broker knows: what each serves, how many commands and transfers it may run at once,
 * how many it runs now, and when it was last heard from. Pure bookkeeping; no sockets, no clocks of its own.
 *
 * Capacity is split by lane (request-queue.ts): transfers run on the worker's transfer slots, so stalled
 * uploads and slow downloads never take the slots commands need; priority commands (token checks) may use
 * `priorityReserve` slots beyond the worker's command capacity, so they never wait for ordinary commands.
 */
import { affinityScore, workerHash } from './pod-affinity.ts';
import type { Lane } from './request-queue.ts';

export interface WorkerEntry {
  /** Hex of the worker's ZeroMQ routing id. */
  id: string;
  identity: Buffer;
  services: string[];
  capacity: number;
  /** Transfer slots, besides `capacity`; 0: transfers take command slots (an older worker). */
  transferCapacity: number;
  /** Keys of the requests this worker is executing. */
  inFlight: Set<string>;
  /** The keys of `inFlight` that run on transfer slots and moved lately. */
  transfers: Set<string>;
  /** The keys of `inFlight` that are transfers through which nothing moved lately: they hold no slot. */
  parked: Set<string>;
  /** Set when the worker said DISCONNECT: it finishes what it has and gets nothing new. */
  draining: boolean;
  expiresAt: number;
  /** Its hash for rendezvous hashing of pods (pod-affinity.ts). */
  affinityHash: number;
  lastDispatchAt: number;
  dispatched: number;
}

export class WorkerRegistry {
  readonly #workers = new Map<string, WorkerEntry>();

  readonly #priorityReserve: number;
  readonly #maxTransfers: number | undefined;

  constructor(
    private readonly livenessMs: number,
    options: {
      /** Slots beyond each worker's command capacity that only priority commands may take. */
      priorityReserve?: number;
      /** Transfers, moving or parked, one worker may hold; default: its transfer slots. */
      maxTransfersPerWorker?: number;
    } = {},
  ) {
    this.#priorityReserve = options.priorityReserve ?? 0;
    this.#maxTransfers = options.maxTransfersPerWorker;
  }

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
  register(
    identity: Buffer,
    services: string[],
    capacity: number,
    now: number,
    transferCapacity = 0,
  ): WorkerEntry {
    const id = identity.toString('hex');
    const existing = this.#workers.get(id);
    const entry: WorkerEntry = {
      id,
      identity,
      services,
      capacity,
      transferCapacity,
      inFlight: existing?.inFlight ?? new Set(),
      transfers: existing?.transfers ?? new Set(),
      parked: existing?.parked ?? new Set(),
      draining: false,
      expiresAt: now + this.livenessMs,
      affinityHash: existing?.affinityHash ?? workerHash(id),
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

  /** Whether a request of `lane` dispatched to `w` runs on its transfer slots. */
  onTransferSlots(w: WorkerEntry, lane: Lane): boolean {
    return lane === 'transfer' && w.transferCapacity > 0;
  }

  /** The commands of `lane` that `w` runs (moving transfers, on transfer slots). */
  #busy(w: WorkerEntry, lane: Lane): number {
    if (this.onTransferSlots(w, lane)) return w.transfers.size;
    return w.inFlight.size - w.transfers.size - w.parked.size;
  }

  /** How full `w` is for `lane`: in flight / slots of that lane (≥ 1 when it has no free slot). */
  #load(w: WorkerEntry, lane: Lane): number {
    if (this.onTransferSlots(w, lane)) {
      const held = w.transfers.size + w.parked.size;
      if (held >= Math.max(w.transferCapacity, this.#maxTransfers ?? 0)) return 1;
      return w.transfers.size / w.transferCapacity;
    }
    const commands = w.inFlight.size - w.transfers.size - w.parked.size;
    const slots = w.capacity + (lane === 'priority' ? this.#priorityReserve : 0);
    return commands / slots;
  }

  /**
   * The least-loaded worker with a free slot of `lane` for `service` (load = in flight / slots); among
   * equals, the one that was dispatched to longest ago, so light traffic still spreads over every worker.
   */
  pick(service: string, lane: Lane = 'command'): WorkerEntry | undefined {
    let best: WorkerEntry | undefined;
    let bestLoad = 1;
    for (const w of this.#workers.values()) {
      if (w.draining || !w.services.includes(service)) continue;
      const load = this.#load(w, lane);
      if (load >= 1) continue;
      if (
        best === undefined ||
        load < bestLoad ||
        (load === bestLoad && w.lastDispatchAt < best.lastDispatchAt)
      ) {
        best = w;
        bestLoad = load;
      }
    }
    return best;
  }

  /**
   * The home of a pod (by its hash, pod-affinity.ts) among the live, non-draining workers serving
   * `service`, if it may take the pod's next command of `lane`: it has a free slot, and runs fewer of that
   * lane's commands than `bound` times the workers' average, counting this one (consistent hashing with
   * bounded loads): a pod busier than its home alone spreads over the others. Undefined otherwise.
   */
  boundedHome(service: string, pod: number, lane: Lane, bound: number): WorkerEntry | undefined {
    let busy = 0;
    let workers = 0;
    for (const w of this.#workers.values()) {
      if (w.draining || !w.services.includes(service)) continue;
      workers++;
      busy += this.#busy(w, lane);
    }
    const home = this.homeOf(service, pod);
    if (home === undefined || this.#load(home, lane) >= 1) return undefined;
    return this.#busy(home, lane) < Math.max(1, Math.ceil((bound * (busy + 1)) / workers)) ? home : undefined;
  }

  /** The home of a pod (by its hash) among the live, non-draining workers serving `service`, whatever its load. */
  homeOf(service: string, pod: number): WorkerEntry | undefined {
    let home: WorkerEntry | undefined;
    let best = -1;
    for (const w of this.#workers.values()) {
      if (w.draining || !w.services.includes(service)) continue;
      const score = affinityScore(pod, w.affinityHash);
      if (score > best) {
        home = w;
        best = score;
      }
    }
    return home;
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
