/**
 * A pod's home worker remembers the pod's file records (small files' bytes included: they live in the
 * record) and its account document, so that a read of what it has read or written recently needs no
 * storage request (decision 0008).
 *
 * Never stale after an acknowledged write, by three rules:
 * - **The broker's placement** (protocol/placement.ts, broker/pod-placements.ts). Every command of a pod
 *   arrives with the pod's epoch, which changes whenever a worker other than this one may have changed
 *   the pod's files, and says whether this worker may trust its memory for it (`exclusive`: it is the
 *   pod's home, and nothing that may change files runs elsewhere). `admit` sees every placement in
 *   arrival order; a new epoch starts a new memory of the pod (what was remembered under the old one is
 *   never used again). A record is used or remembered only for an exclusive command of the current epoch.
 * - **This worker's own writes.** Every write of a record forgets the record before and after it
 *   (`forget`), and a record read from the store is remembered only if no write of the pod began or
 *   ended on this worker since the read began (`ticket`, then `fill`): a read that raced a write never
 *   leaves the older version behind.
 * - **The account.** Each remembered record names the incarnation of the pod's account it was read
 *   under (worker/users/incarnation.ts); it is used only while the account is seen alive as that
 *   incarnation, so nothing of an erased account outlives the sight of it that writes already trust,
 *   and nothing reaches a later account of the same name. (An erasure removes records without a
 *   command of the pod.)
 *
 * Bounded: at most `maxBytes` of records (their bytes, path and a fixed allowance each), the least
 * recently used dropped first; one pod at most an eighth of it (a pod that reads more starts its own
 * memory over, so a tenant that scans its pod cannot push the others out); at most `maxPods` pods'
 * epochs. An old epoch's records are dropped when the new one begins.
 */
import type { Placement } from '../../protocol/placement.ts';

/** One epoch of one pod on this worker. A new epoch is a new object: entries of an old one are dead. */
interface PodMemory {
  run: number;
  epoch: number;
  /** Bumped by every write of the pod's records that begins or ends here. */
  writes: number;
  /** The entries remembered under this memory, and their bytes. */
  keys: Set<string>;
  bytes: number;
}

interface Entry {
  value: unknown;
  memory: PodMemory;
  incarnation: string;
  bytes: number;
}

/** Proof that a read began at a moment the pod's memory could be filled: see `fill`. */
export interface FillTicket {
  owner: string;
  memory: PodMemory;
  writes: number;
}

export interface RecordCacheCounters {
  /** A read answered from memory / read from the store while it could have been / not exclusive. */
  count(outcome: 'hit' | 'miss' | 'shared'): void;
}

/**
 * Bytes an entry costs beyond its record's bytes and path: the parsed record (its strings: hash, ETag,
 * dates, author), the stored document's JSON, the entry and the Map's slot. Measured: 1,794 bytes of
 * heap and buffers per record of an empty file (20,000 records, `--expose-gc`), of which 1,600 here.
 */
const ENTRY_ALLOWANCE = 1600;

const keyOf = (owner: string, key: string) => `${owner}\u0000${key}`;

/** The key of a file's record (`path` is a file path: it never starts with `/`). */
export const fileRecordKey = (path: string) => `/${path}`;
/** The key of the pod's account document (profile.json). */
export const ACCOUNT_KEY = 'account';

/** One pod holds at most this fraction (1/POD_SHARE) of the memory. */
const POD_SHARE = 8;

export class RecordCache {
  readonly #pods = new Map<string, PodMemory>();
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  constructor(
    private readonly maxBytes: number,
    /** About 250 bytes each (measured), beyond `maxBytes`. */
    private readonly maxPods = 20_000,
    private readonly counters?: RecordCacheCounters,
  ) {}

  /** A command of `pod` arrived with `placement`: a new epoch starts a new memory of the pod. */
  admit(pod: string, placement: Placement): void {
    const memory = this.#pods.get(pod);
    if (memory !== undefined && memory.run === placement.run && memory.epoch === placement.epoch) return;
    if (memory !== undefined) this.#release(memory);
    this.#pods.delete(pod);
    this.#pods.set(pod, { run: placement.run, epoch: placement.epoch, writes: 0, keys: new Set(), bytes: 0 });
    if (this.#pods.size > this.maxPods) {
      const [oldest, forgotten] = this.#pods.entries().next().value as [string, PodMemory];
      this.#pods.delete(oldest);
      this.#release(forgotten);
    }
  }

  /** The memory a command placed by `placement` may use, if any. */
  #usable(owner: string, placement: Placement | undefined): PodMemory | undefined {
    if (placement === undefined || !placement.exclusive) return undefined;
    const memory = this.#pods.get(owner);
    return memory !== undefined && memory.run === placement.run && memory.epoch === placement.epoch
      ? memory
      : undefined;
  }

  /** Counts a read of a pod's record that could not use memory (its command was not exclusive). */
  passed(): void {
    this.counters?.count('shared');
  }

  /**
   * The remembered record under `key` (a file's, `fileRecordKey`; the account's, `ACCOUNT_KEY`), if
   * this command may use it and the account is the same incarnation. The caller knows its type.
   */
  get<T>(owner: string, key: string, placement: Placement | undefined, incarnation: string): T | undefined {
    const memory = this.#usable(owner, placement);
    if (memory === undefined) {
      this.counters?.count(placement?.exclusive === true ? 'miss' : 'shared');
      return undefined;
    }
    const full = keyOf(owner, key);
    const entry = this.#entries.get(full);
    if (entry === undefined || entry.memory !== memory || entry.incarnation !== incarnation) {
      this.counters?.count('miss');
      return undefined;
    }
    this.#entries.delete(full); // re-inserted last: the Map's order is the order of use
    this.#entries.set(full, entry);
    this.counters?.count('hit');
    return entry.value as T;
  }

  /** Taken before reading a record from the store, to remember what the read returns (`fill`). */
  ticket(owner: string, placement: Placement | undefined): FillTicket | undefined {
    const memory = this.#usable(owner, placement);
    return memory === undefined ? undefined : { owner, memory, writes: memory.writes };
  }

  /**
   * Remembers `value` (of `size` bytes, beyond a fixed allowance) as the record under `key`, read from
   * the store after `ticket` was taken, if the pod's epoch is still the ticket's and no write of the pod
   * began or ended here since.
   */
  fill(ticket: FillTicket | undefined, key: string, value: unknown, incarnation: string, size: number): void {
    if (ticket === undefined || this.#pods.get(ticket.owner) !== ticket.memory) return;
    if (ticket.memory.writes !== ticket.writes) return;
    const bytes = size + key.length * 2 + ENTRY_ALLOWANCE;
    if (bytes > this.maxBytes / 16) return; // one record never crowds out the rest
    const full = keyOf(ticket.owner, key);
    this.#drop(full);
    // One pod never holds more than its share: past it, the pod starts over (its own loss, nobody else's).
    if (ticket.memory.bytes + bytes > this.maxBytes / POD_SHARE) this.#release(ticket.memory);
    this.#entries.set(full, { value, memory: ticket.memory, incarnation, bytes });
    ticket.memory.keys.add(full);
    ticket.memory.bytes += bytes;
    this.#bytes += bytes;
    for (const [oldest] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#drop(oldest);
    }
  }

  /**
   * The record under `key` from memory when this command may use it and `incarnation` (the account as
   * the caller sees it; undefined: not known, so memory is not used) is the one it was kept under; else
   * what `read` finds in the store, kept for the next command under the incarnation and size `describe`
   * gives, if nothing made it stale meanwhile (`ticket`, `fill`).
   */
  async readThrough<T>(
    owner: string,
    key: string,
    placement: Placement,
    incarnation: string | undefined,
    read: () => Promise<T | undefined>,
    describe: (value: T) => { incarnation: string; size: number },
  ): Promise<T | undefined> {
    if (incarnation !== undefined) {
      const remembered = this.get<T>(owner, key, placement, incarnation);
      if (remembered !== undefined) return remembered;
    }
    const ticket = this.ticket(owner, placement);
    const found = await read();
    if (found !== undefined) {
      const { incarnation: keptUnder, size } = describe(found);
      this.fill(ticket, key, found, keptUnder, size);
    }
    return found;
  }

  /**
   * Runs `write`, a write of the record under `key` to the store, forgetting the record before and
   * after it (the tickets of reads that raced it are void), whether or not it succeeds.
   */
  async writing<T>(owner: string, key: string, write: () => Promise<T>): Promise<T> {
    this.forget(owner, key);
    try {
      return await write();
    } finally {
      this.forget(owner, key);
    }
  }

  /** A write of the record under `key` begins or ends here: forget it, and void the tickets of the pod. */
  forget(owner: string, key: string): void {
    const memory = this.#pods.get(owner);
    if (memory !== undefined) memory.writes += 1;
    this.#drop(keyOf(owner, key));
  }

  /** Bytes remembered now. */
  get bytes(): number {
    return this.#bytes;
  }

  #drop(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    entry.memory.keys.delete(key);
    entry.memory.bytes -= entry.bytes;
  }

  /** Drops every entry remembered under `memory` (an old epoch, a forgotten pod, a pod over its share). */
  #release(memory: PodMemory): void {
    for (const key of [...memory.keys]) this.#drop(key);
  }
}
