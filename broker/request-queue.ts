/**
 * Requests waiting for a worker, one bounded FIFO per service. A full queue refuses (the client gets
 * OVERLOADED at once) rather than growing: nothing in the broker is unbounded.
 */
export class RequestQueues<T> {
  readonly #queues = new Map<string, T[]>();

  constructor(private readonly maxPerService: number) {}

  /** Appends; false when the service's queue is full. */
  push(service: string, item: T): boolean {
    const queue = this.#queues.get(service) ?? [];
    if (queue.length >= this.maxPerService) return false;
    queue.push(item);
    this.#queues.set(service, queue);
    return true;
  }

  /** Puts an item back at the head (a retried request keeps its place in line). Ignores the bound. */
  pushFront(service: string, item: T): void {
    const queue = this.#queues.get(service) ?? [];
    queue.unshift(item);
    this.#queues.set(service, queue);
  }

  shift(service: string): T | undefined {
    const queue = this.#queues.get(service);
    const item = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.#queues.delete(service);
    return item;
  }

  depth(service: string): number {
    return this.#queues.get(service)?.length ?? 0;
  }

  services(): string[] {
    return [...this.#queues.keys()];
  }

  /** Removes and returns every queued item for which `predicate` holds. */
  removeWhere(predicate: (item: T, service: string) => boolean): T[] {
    const removed: T[] = [];
    for (const [service, queue] of this.#queues) {
      const kept = queue.filter((item) => {
        if (!predicate(item, service)) return true;
        removed.push(item);
        return false;
      });
      if (kept.length === 0) this.#queues.delete(service);
      else this.#queues.set(service, kept);
    }
    return removed;
  }
}
