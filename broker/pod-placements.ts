/**
 * What the broker tells a pod's home worker about the pod, so that the home may answer reads of the
 * pod's files from memory without ever answering one stale (decision 0008).
 *
 * The broker is the one place that sees every command of a pod, so it keeps, per pod:
 * - `epoch`: a number that changes whenever a worker other than the home may have changed the pod's
 *   files (a command that may change them went elsewhere), or the home itself changed;
 * - `changing`: the commands that may change the pod's files, dispatched and not yet answered, by worker.
 *
 * Every dispatch of a pod's command carries a placement: the broker run, the pod's epoch, and whether
 * the receiving worker is the pod's home with no command that may change files running on any other
 * worker and no worker lost recently (`exclusive`). The home drops what it remembers of the pod when the epoch
 * differs from the one its memories were made under, and it uses or fills its memory only for an
 * exclusive command. So, for a read that the broker dispatched after a write was acknowledged:
 * - the write ran on the home: the home's own memory already knows it (it forgets what it writes);
 * - the write ran elsewhere (or on a home that has since stopped being home): it bumped the epoch when
 *   it was dispatched (or the new home did) and counted in `changing` until it was answered, so the read is either not exclusive (the home reads the store) or carries the new
 *   epoch (the home forgets what it had, reads the store, and remembers the new state).
 *
 * A worker lost with commands in flight may still be changing things (it may be alive and slow, cut
 * off, or just restarted), and so may one that ran under a previous broker: for `quietMs` after a
 * worker is lost, and after this broker starts, no placement is exclusive.
 *
 * Pure bookkeeping: the caller says what is home and when it is.
 */

import type { Placement } from '../protocol/placement.ts';

interface PodState {
  epoch: number;
  /** The worker that was home at the last dispatch to the home. */
  home: string | undefined;
  /** Commands that may change files, dispatched and not yet answered, by worker. */
  changing: Map<string, number>;
}

export interface PodPlacementSettings {
  /** No placement is exclusive this long after a worker was lost, or after the first dispatch. */
  quietMs: number;
  /** Pods remembered at most (the least recently used, with no change in flight, are forgotten first). */
  maxPods?: number;
  /** This broker's run number (random by default). */
  run?: number;
}

export class PodPlacements {
  readonly #pods = new Map<string, PodState>();
  readonly #quietMs: number;
  readonly #maxPods: number;
  readonly run: number;
  #lastEpoch = 0;
  #quietUntil: number | undefined;

  constructor(settings: PodPlacementSettings) {
    this.#quietMs = settings.quietMs;
    this.#maxPods = settings.maxPods ?? 50_000; // about 260 bytes each (measured): 13 MB at most
    this.run = settings.run ?? Math.floor(Math.random() * 0xffffffff);
  }

  /**
   * The placement of a command of `pod` dispatched to `worker` (`home`: the pod's home among the live
   * workers; `changesFiles`: the command may change the pod's files). A command that changes files must
   * be reported `answered` when its worker answers or is lost.
   */
  dispatch(
    pod: string,
    worker: string,
    home: string | undefined,
    changesFiles: boolean,
    now: number,
  ): Placement {
    this.#quietUntil ??= now + this.#quietMs;
    let state = this.#pods.get(pod);
    if (state === undefined) {
      state = { epoch: ++this.#lastEpoch, home: undefined, changing: new Map() };
      this.#trim();
    } else {
      this.#pods.delete(pod); // re-inserted last: the Map's order is the order of last use
    }
    this.#pods.set(pod, state);
    if (changesFiles) state.changing.set(worker, (state.changing.get(worker) ?? 0) + 1);
    if (worker !== home) {
      if (changesFiles) state.epoch = ++this.#lastEpoch;
      return { run: this.run, epoch: state.epoch, exclusive: false };
    }
    if (state.home !== worker) {
      state.home = worker;
      state.epoch = ++this.#lastEpoch;
    }
    const alone = state.changing.size === 0 || (state.changing.size === 1 && state.changing.has(worker));
    return { run: this.run, epoch: state.epoch, exclusive: alone && now >= this.#quietUntil };
  }

  /** A command that may change files of `pod`, dispatched to `worker`, was answered or its worker lost. */
  answered(pod: string, worker: string): void {
    const changing = this.#pods.get(pod)?.changing;
    const count = changing?.get(worker);
    if (changing === undefined || count === undefined) return;
    if (count > 1) changing.set(worker, count - 1);
    else changing.delete(worker);
  }

  /**
   * A worker was lost while it ran commands: it may still be changing pods (or be alive and cut off).
   * Nothing is exclusive for a while, and every pod's next placement carries a new epoch.
   */
  workerLost(now: number): void {
    this.#quietUntil = Math.max(this.#quietUntil ?? 0, now + this.#quietMs);
    for (const state of this.#pods.values()) state.epoch = ++this.#lastEpoch;
  }

  /** Pods remembered now. */
  get size(): number {
    return this.#pods.size;
  }

  /**
   * Forgets the least recently used pods beyond the bound, but none with commands in flight that may
   * change files (those are few: at most the commands in flight). A forgotten pod gets a new epoch when it comes back.
   */
  #trim(): void {
    if (this.#pods.size < this.#maxPods) return;
    for (const [pod, state] of this.#pods) {
      if (this.#pods.size < this.#maxPods) return;
      if (state.changing.size === 0) this.#pods.delete(pod);
    }
  }
}
