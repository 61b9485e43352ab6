/**
 * Requests waiting for a worker: per service, one queue per lane, each a FairQueue that takes turns
 * between callers (fair-queue.ts). Lanes keep kinds of work apart: token checks (`priority`) are served
 * before anything else and never wait behind commands or transfers; transfers (`transfer`) wait for the
 * workers' transfer slots, never in front of commands. Every queue is bounded per caller and in all: a
 * full one refuses (the client gets THROTTLED or OVERLOADED at once) rather than growing.
 */
import { FairQueue, type PushResult } from './fair-queue.ts';

export type Lane = 'priority' | 'command' | 'transfer';
/** In the order a freed worker serves them. */
export const LANES: readonly Lane[] = ['priority', 'command', 'transfer'];

export interface QueueLimits {
  /** Requests that may wait per service and lane. */
  maxPerService: number;
  /** Requests one caller may have waiting per service and lane. */
  maxPerCaller: number;
}

export class RequestQueues<T> {
  readonly #queues = new Map<string, Map<Lane, FairQueue<T>>>();

  constructor(
    private readonly limits: QueueLimits,
    private readonly callerOf: (item: T) => string,
  ) {}

  #queue(service: string, lane: Lane): FairQueue<T> {
    let lanes = this.#queues.get(service);
    if (lanes === undefined) {
      lanes = new Map();
      this.#queues.set(service, lanes);
    }
    let queue = lanes.get(lane);
    if (queue === undefined) {
      queue = new FairQueue(this.limits.maxPerService, this.limits.maxPerCaller, this.callerOf);
      lanes.set(lane, queue);
    }
    return queue;
  }

  /** Appends to the caller's turn in the lane; says why not when the caller's or the lane's bound is hit. */
  push(service: string, lane: Lane, item: T): PushResult {
    return this.#queue(service, lane).push(item);
  }

  /** Puts an item back at the head of its lane (a retried request keeps its place). Ignores the bounds. */
  pushFront(service: string, lane: Lane, item: T): void {
    this.#queue(service, lane).pushFront(item);
  }

  shift(service: string, lane: Lane): T | undefined {
    return this.#queues.get(service)?.get(lane)?.shift();
  }

  /** Requests waiting for `service`, in one lane or in all. */
  depth(service: string, lane?: Lane): number {
    const lanes = this.#queues.get(service);
    if (lanes === undefined) return 0;
    if (lane !== undefined) return lanes.get(lane)?.size ?? 0;
    let n = 0;
    for (const queue of lanes.values()) n += queue.size;
    return n;
  }

  services(): string[] {
    return [...this.#queues.keys()];
  }

  /** Removes and returns every queued item for which `predicate` holds. */
  removeWhere(predicate: (item: T, service: string) => boolean): T[] {
    const removed: T[] = [];
    for (const [service, lanes] of this.#queues) {
      for (const queue of lanes.values())
        removed.push(...queue.removeWhere((item) => predicate(item, service)));
    }
    return removed;
  }
}
