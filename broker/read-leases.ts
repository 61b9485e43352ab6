/**
 * Read leases: what lets an api answer a pod owner's hot reads from its own memory without ever
 * answering one stale after a change was acknowledged (decision 0009).
 *
 * The broker sees every command of a pod, so it is the one that can say "nothing changed this pod while
 * this read ran". Per pod it keeps:
 * - `version`: a number, new (from one counter for all pods) at every dispatch of a command that may
 *   change the pod's files;
 * - `changing`: how many such commands are dispatched and not yet answered;
 * - `holders`: the clients that hold a lease on the pod, and until when (the broker's clock).
 *
 * A lease is granted with a read's answer when the pod's version is the one the read was dispatched
 * under and no change is running: the answer then is the pod as of every change answered so far. The
 * client keeps it for at most `leaseMs` from when it sent the read (its own clock, so at most as long as
 * the broker counts from the answer).
 *
 * When a change of the pod is dispatched, every holder is told (INVALIDATE, numbered) and the holders
 * are cleared. The change's answer is held back from its client until every other holder has
 * acknowledged (the client that sent the change gets its notice on the same ordered connection, before
 * the answer) or until their leases have run out, whichever is first. Also held: every change answered
 * within `leaseMs` of this broker's start, as clients may still hold leases of a broker run before it;
 * and no lease is granted for `quietMs` after a worker was lost (it may still be changing things).
 *
 * Pure bookkeeping: the broker core sends the notices and holds the answers.
 */

export interface ReadLeaseSettings {
  /** How long a lease lasts (milliseconds). */
  leaseMs: number;
  /** No lease is granted this long after a worker was lost. */
  quietMs: number;
  /** Pods tracked at most; beyond it, new pods get no leases (their changes are always tracked). */
  maxPods?: number;
}

interface Holder {
  identity: Buffer;
  until: number;
}

interface PodLeases {
  version: number;
  changing: number;
  /** By the client's identity in hex. */
  holders: Map<string, Holder>;
}

/** An invalidation to send: `[identity]` must be told `{ pod, seq }`. */
export interface Notice {
  identity: Buffer;
  pod: string;
  seq: number;
}

/**
 * What a change's answer waits for: the acknowledgements `seqs`, or `holdersUntil` (the latest lease of
 * the holders told), whichever comes first; and in any case `notBefore`.
 */
export interface AnswerHold {
  seqs: Set<number>;
  holdersUntil: number;
  notBefore: number;
}

export class ReadLeases {
  readonly leaseMs: number;
  readonly #quietMs: number;
  readonly #maxPods: number;
  readonly #pods = new Map<string, PodLeases>();
  #lastVersion = 0;
  #lastSeq = 0;
  #bootUntil: number | undefined;
  #quietUntil = 0;

  constructor(settings: ReadLeaseSettings) {
    this.leaseMs = settings.leaseMs;
    this.#quietMs = settings.quietMs;
    this.#maxPods = settings.maxPods ?? 50_000;
  }

  /**
   * A read that asks for a lease is dispatched: the pod version it runs under, or undefined when its
   * answer can get no lease (a change of the pod is running, or too many pods are tracked).
   */
  readStarts(pod: string, now: number): number | undefined {
    this.#bootUntil ??= now + this.leaseMs;
    let state = this.#pods.get(pod);
    if (state === undefined) {
      if (!this.#makeRoom(now)) return undefined;
      state = { version: ++this.#lastVersion, changing: 0, holders: new Map() };
      this.#pods.set(pod, state);
    }
    return state.changing === 0 ? state.version : undefined;
  }

  /**
   * The read's answer came: true when `client` may keep it for `leaseMs` (recorded as a holder). `seen`
   * is what readStarts returned.
   */
  grant(pod: string, seen: number | undefined, client: Buffer, clientHex: string, now: number): boolean {
    if (seen === undefined || now < this.#quietUntil) return false;
    const state = this.#pods.get(pod);
    if (state === undefined || state.version !== seen || state.changing !== 0) return false;
    state.holders.set(clientHex, { identity: client, until: now + this.leaseMs });
    return true;
  }

  /**
   * A command that may change the pod's files is dispatched for `clientHex`: the notices to send (to
   * every holder, the sender included) and what its answer must wait for (undefined: nothing).
   */
  changeStarts(pod: string, clientHex: string, now: number): { notices: Notice[]; hold?: AnswerHold } {
    this.#bootUntil ??= now + this.leaseMs;
    let state = this.#pods.get(pod);
    if (state === undefined) {
      this.#makeRoom(now); // a change is tracked even past the bound: they are few (at most those in flight)
      state = { version: 0, changing: 0, holders: new Map() };
      this.#pods.set(pod, state);
    }
    state.version = ++this.#lastVersion;
    state.changing += 1;
    const notices: Notice[] = [];
    const seqs = new Set<number>();
    let holdersUntil = 0;
    for (const [hex, holder] of state.holders) {
      if (holder.until <= now) continue;
      const seq = ++this.#lastSeq;
      notices.push({ identity: holder.identity, pod, seq });
      // The sender's own notice goes before the answer on the same connection: nothing to wait for.
      if (hex === clientHex) continue;
      seqs.add(seq);
      holdersUntil = Math.max(holdersUntil, holder.until);
    }
    state.holders.clear();
    const notBefore = this.#bootUntil;
    if (seqs.size === 0 && now >= notBefore) return { notices };
    return { notices, hold: { seqs, holdersUntil, notBefore } };
  }

  /**
   * The change's worker answered it or was lost. A pod with nothing running and no holder is forgotten:
   * if it comes back it gets a new version, so a read in flight meanwhile only misses its lease.
   */
  changeEnds(pod: string): void {
    const state = this.#pods.get(pod);
    if (state === undefined || state.changing === 0) return;
    state.changing -= 1;
    if (state.changing === 0 && state.holders.size === 0) this.#pods.delete(pod);
  }

  /** A worker was lost: it may still be changing pods, so no lease is granted for a while. */
  workerLost(now: number): void {
    this.#quietUntil = Math.max(this.#quietUntil, now + this.#quietMs);
  }

  /** Pods tracked now. */
  get size(): number {
    return this.#pods.size;
  }

  /** Makes room for one more pod by forgetting pods with no change running and no live lease. */
  #makeRoom(now: number): boolean {
    if (this.#pods.size < this.#maxPods) return true;
    for (const [pod, state] of this.#pods) {
      if (state.changing > 0) continue;
      let live = false;
      for (const holder of state.holders.values()) live ||= holder.until > now;
      if (live) continue;
      this.#pods.delete(pod);
      if (this.#pods.size < this.#maxPods) return true;
    }
    return false;
  }
}

/** True when a held answer may go: every notice acknowledged or every lease run out, and not before `notBefore`. */
export const holdIsOver = (hold: AnswerHold, now: number): boolean =>
  now >= hold.notBefore && (hold.seqs.size === 0 || now >= hold.holdersUntil);
