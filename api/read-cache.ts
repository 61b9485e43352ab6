/**
 * The api's memory of pod owners' small-file reads, kept under the broker's read leases (decision 0009,
 * broker/read-leases.ts): an answer is kept until its lease runs out (counted from when the read was
 * sent) or the broker says the pod changed (INVALIDATE), whichever is first. Answers are kept as the
 * encoded outcome the worker sent, and decoded afresh for each request that uses them.
 *
 * Bounded: at most `maxBytes` in all (the least recently used dropped first), and one pod at most an
 * eighth of it, so an owner who reads through a large pod pushes out only their own answers.
 */

interface Entry {
  pod: string;
  body: Buffer;
  until: number;
  bytes: number;
}

/** What an entry costs beyond its bytes: its key, the Map entries, the objects (an estimate). */
const ENTRY_OVERHEAD = 400;

export class ReadCache {
  /** By key, least recently used first. */
  readonly #entries = new Map<string, Entry>();
  /** Keys and bytes per pod. */
  readonly #pods = new Map<string, { keys: Set<string>; bytes: number }>();
  #bytes = 0;
  readonly #podBytes: number;

  constructor(readonly maxBytes: number) {
    this.#podBytes = Math.floor(maxBytes / 8);
  }

  /** The encoded answer kept for `key`, if its lease still holds at `now`. */
  get(key: string, now: number): Buffer | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.#remove(key, entry);
      return undefined;
    }
    this.#entries.delete(key); // re-inserted last: the Map's order is the order of use
    this.#entries.set(key, entry);
    return entry.body;
  }

  /** Keeps `body` (copied) as the answer for `key`, a read of `pod`, until `until`. */
  put(pod: string, key: string, body: Buffer, until: number): void {
    const bytes = body.length + key.length + ENTRY_OVERHEAD;
    if (bytes > this.#podBytes) return;
    const old = this.#entries.get(key);
    if (old !== undefined) this.#remove(key, old);
    let own = this.#pods.get(pod);
    if (own === undefined) {
      own = { keys: new Set(), bytes: 0 };
      this.#pods.set(pod, own);
    }
    // The pod's own oldest first, then everyone's.
    for (const k of own.keys) {
      if (own.bytes + bytes <= this.#podBytes) break;
      this.#remove(k, this.#entries.get(k) as Entry);
    }
    for (const [k, entry] of this.#entries) {
      if (this.#bytes + bytes <= this.maxBytes) break;
      this.#remove(k, entry);
    }
    const entry: Entry = { pod, body: Buffer.from(body), until, bytes };
    this.#entries.set(key, entry);
    own = this.#pods.get(pod) ?? { keys: new Set(), bytes: 0 };
    this.#pods.set(pod, own);
    own.keys.add(key);
    own.bytes += bytes;
    this.#bytes += bytes;
  }

  /** Forgets every answer whose lease ran out (called now and then: they hold memory until then). */
  dropExpired(now: number): void {
    for (const [key, entry] of this.#entries) if (entry.until <= now) this.#remove(key, entry);
  }

  /** Forgets everything of `pod` (the broker said a change of it was dispatched). */
  invalidate(pod: string): void {
    const own = this.#pods.get(pod);
    if (own === undefined) return;
    for (const key of own.keys) this.#remove(key, this.#entries.get(key) as Entry);
  }

  /** Forgets everything (the connection to the broker dropped). */
  clear(): void {
    this.#entries.clear();
    this.#pods.clear();
    this.#bytes = 0;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  #remove(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    const own = this.#pods.get(entry.pod);
    if (own === undefined) return;
    own.keys.delete(key);
    own.bytes -= entry.bytes;
    if (own.keys.size === 0) this.#pods.delete(entry.pod);
  }
}
