/**
 * An account is an incarnation, not a name. Every account gets an immutable random `incarnation` id at
 * sign-up (accounts older than this field use their `createdAt`, which is just as immutable). Whatever
 * is kept or published about an account (events, webhooks, idempotency records) is tied to its
 * incarnation, so nothing of a deleted account reaches a later account that takes the same name.
 *
 * An observation of an account's incarnation is trusted for a write only within half of the erasure
 * settle time (ERASURE_SETTLE_MS): an erasure frees the name no sooner than the settle time after the
 * account disappeared, and sweeps the pod once more at that moment (worker/erasure/). So a write made
 * within that window of seeing the account alive either lands before the last sweep, or is undone by
 * its writer (PodWriteGuard).
 */
import { CommandError, ErrorCode } from '../../protocol/outcome.ts';
import type { ObjectStore } from '../storage/object-store.ts';

export interface Incarnation {
  /** The account's immutable id. */
  id: string;
  createdAt: string;
}

/** The stored profile document's identity fields. */
export function incarnationOfDoc(doc: { incarnation?: string; createdAt: string }): Incarnation {
  return { id: doc.incarnation ?? doc.createdAt, createdAt: doc.createdAt };
}

export const profileObjectKey = (username: string) => `users/${username}/profile.json`;

/** Reads the current incarnation of a name from the store (never cached: writes depend on it). */
export class IncarnationReader {
  constructor(private readonly store: ObjectStore) {}

  async current(username: string): Promise<Incarnation | undefined> {
    const object = await this.store.get(profileObjectKey(username));
    if (object === undefined) return undefined;
    return incarnationOfDoc(
      JSON.parse(object.body.toString('utf8')) as { incarnation?: string; createdAt: string },
    );
  }
}

/** That an account was seen alive, as what, and when (monotonic ms). */
export interface Observation {
  owner: string;
  incarnation: Incarnation;
  at: number;
}

export const accountGone = (owner: string) =>
  new CommandError(ErrorCode.NOT_FOUND, `no user named ${owner} (the account was deleted)`);

/**
 * Guards writes that make something visible in a pod (create a file record, a grant, a webhook, an audit
 * entry): the write happens within half the settle time of seeing the pod's account alive as the
 * expected incarnation; a write that took longer checks again afterwards and undoes itself if the
 * account is gone or another one has its name.
 *
 * It remembers what it saw: `observe` answers from an observation younger than a quarter of the settle
 * time instead of reading the account again (a hot pod's writes read the account a few times a second,
 * not once each). This is safe by the same argument as above, because an observation keeps the time it
 * was made: a write vouched for by a remembered one still happens within half the settle time of that
 * sight, or checks again. The worker that erases an account forgets it at once (`forget`); another
 * worker may go on writing on its word for at most a quarter of the settle time, and what it writes is
 * removed by the erasure's last sweep, as a write in flight at the moment of the erasure would be.
 */
export class PodWriteGuard {
  /** The last observation of each account, by name: at most `maxRemembered`, the oldest dropped first. */
  readonly #recent = new Map<string, Observation>();

  constructor(
    private readonly reader: IncarnationReader,
    readonly settleMs: number,
    private readonly now: () => number = () => performance.now(),
    private readonly maxRemembered = 10_000,
  ) {}

  /**
   * Sees the account: a remembered observation younger than a quarter of the settle time, else the
   * account as it is now; NOT_FOUND when there is none.
   */
  async observe(owner: string): Promise<Observation> {
    const recent = this.#recent.get(owner);
    if (recent !== undefined && this.now() - recent.at < this.settleMs / 4) return recent;
    return this.observeNow(owner);
  }

  /** Sees the account as it is now (never from memory); NOT_FOUND when there is none. */
  async observeNow(owner: string): Promise<Observation> {
    const incarnation = await this.reader.current(owner);
    if (incarnation === undefined) {
      this.#recent.delete(owner);
      throw new CommandError(ErrorCode.NOT_FOUND, `no user named ${owner}`);
    }
    return this.#remember({ owner, incarnation, at: this.now() });
  }

  /** The remembered observation of the account, if younger than a quarter of the settle time (no I/O). */
  recent(owner: string): Observation | undefined {
    const recent = this.#recent.get(owner);
    return recent !== undefined && this.now() - recent.at < this.settleMs / 4 ? recent : undefined;
  }

  /** The guard's clock (monotonic ms): taken before a read of the account that `saw` will report. */
  clock(): number {
    return this.now();
  }

  /**
   * Remembers what a read of the account that began at `since` (`clock()`) found: the account alive as
   * `incarnation` (a sight as good as `observeNow`'s, dated when the read began), or, undefined, gone.
   */
  saw(owner: string, incarnation: Incarnation | undefined, since: number): void {
    if (incarnation === undefined) this.#recent.delete(owner);
    else this.#remember({ owner, incarnation, at: since });
  }

  /** Drops what this process remembers of the account (it is being erased here). */
  forget(owner: string): void {
    this.#recent.delete(owner);
  }

  #remember(observation: Observation): Observation {
    this.#recent.delete(observation.owner); // re-inserted last: the Map's order is the age order
    this.#recent.set(observation.owner, observation);
    if (this.#recent.size > this.maxRemembered) {
      const oldest = this.#recent.keys().next().value;
      if (oldest !== undefined) this.#recent.delete(oldest);
    }
    return observation;
  }

  /** True while an observation may still vouch for a write. */
  fresh(observation: Observation): boolean {
    return this.now() - observation.at < this.settleMs / 2;
  }

  /**
   * `observation` again if still fresh, else a new one that must show the same incarnation (NOT_FOUND,
   * "the account was deleted", when it does not).
   */
  async renew(observation: Observation): Promise<Observation> {
    if (this.fresh(observation)) return observation;
    const again = await this.reader.current(observation.owner);
    if (again?.id !== observation.incarnation.id) {
      this.forget(observation.owner);
      throw accountGone(observation.owner);
    }
    return this.#remember({ ...observation, at: this.now() });
  }

  /**
   * Runs `write` under a fresh observation of the owner's account (`expected`, or a new one), then, if
   * the write took so long that the observation no longer vouches for it, looks again and runs `undo`
   * (and throws NOT_FOUND) when the account changed meanwhile.
   */
  async write<T>(
    owner: string,
    expected: Observation | undefined,
    write: () => Promise<T>,
    undo: () => Promise<unknown>,
  ): Promise<T> {
    const seen = expected === undefined ? await this.observe(owner) : await this.renew(expected);
    const result = await write();
    if (!this.fresh(seen)) {
      const again = await this.reader.current(owner);
      if (again?.id !== seen.incarnation.id) {
        this.forget(owner);
        await undo();
        throw accountGone(owner);
      }
    }
    return result;
  }
}
