/**
 * A bounded queue that takes turns between callers: every caller has a FIFO of its own, and `shift`
 * serves the callers round-robin, one item each, so one caller's backlog delays another caller by at
 * most one item per turn, however long it is. Each caller's FIFO is bounded, and so is the whole queue.
 *
 * Items put back at the head (`pushFront`: a retried request keeps its place) are served before any turn.
 */

export type PushResult = 'queued' | 'full' | 'caller_full';

export class FairQueue<T> {
  /** Callers with something queued, in the order of their next turn (Map keeps insertion order). */
  readonly #callers = new Map<string, T[]>();
  readonly #front: T[] = [];
  #size = 0;

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerCaller: number,
    private readonly callerOf: (item: T) => string,
  ) {}

  get size(): number {
    return this.#size;
  }

  /** Appends to the caller's FIFO; refuses when the caller's FIFO or the whole queue is full. */
  push(item: T): PushResult {
    const caller = this.callerOf(item);
    const queue = this.#callers.get(caller);
    if (this.#size >= this.maxTotal) return 'full';
    if ((queue?.length ?? 0) >= this.maxPerCaller) return 'caller_full';
    if (queue === undefined) this.#callers.set(caller, [item]);
    else queue.push(item);
    this.#size++;
    return 'queued';
  }

  /** Puts an item back at the head of the whole queue, whatever the bounds. */
  pushFront(item: T): void {
    this.#front.unshift(item);
    this.#size++;
  }

  /** The next item: a put-back one, else the head of the caller whose turn it is (it then goes last). */
  shift(): T | undefined {
    const first = this.#front.shift();
    if (first !== undefined) {
      this.#size--;
      return first;
    }
    for (const [caller, queue] of this.#callers) {
      const item = queue.shift();
      this.#callers.delete(caller);
      if (queue.length > 0) this.#callers.set(caller, queue); // to the back of the rotation
      if (item === undefined) continue;
      this.#size--;
      return item;
    }
    return undefined;
  }

  /** How many items `caller` has queued. */
  depthOf(caller: string): number {
    return (
      (this.#callers.get(caller)?.length ?? 0) + this.#front.filter((i) => this.callerOf(i) === caller).length
    );
  }

  /** Removes and returns every item for which `predicate` holds; the turns of the rest are kept. */
  removeWhere(predicate: (item: T) => boolean): T[] {
    const removed: T[] = [];
    const keep = (list: T[]) =>
      list.filter((item) => {
        if (!predicate(item)) return true;
        removed.push(item);
        return false;
      });
    const front = keep(this.#front);
    this.#front.splice(0, this.#front.length, ...front);
    for (const [caller, queue] of this.#callers) {
      const kept = keep(queue);
      if (kept.length === 0) this.#callers.delete(caller);
      else this.#callers.set(caller, kept);
    }
    this.#size -= removed.length;
    return removed;
  }
}
