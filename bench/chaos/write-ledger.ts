/**
 * What the chaos run wrote, and what may therefore be read back. Each path is written by one load
 * connection at a time, so the order of its writes is known. A write answered 2xx is acknowledged: from
 * then on the path must hold exactly its bytes. A write that failed may or may not have landed (its
 * worker may have committed it before dying), so until the next acknowledged write the path may hold
 * the acknowledged bytes or those of any later failed attempt, never anything else. `ABSENT` stands for
 * a deleted (or never written) path.
 */
export const ABSENT = 'absent';

interface PathState {
  /** sha256 of what the last acknowledged write left, or ABSENT. */
  acked: string;
  /** Failed attempts since then: what they would have left. */
  maybe: Set<string>;
  /** ETag after the last acknowledged change, when no failed change came since. */
  etag: string | undefined;
}

export interface ReadCheck {
  path: string;
  ok: boolean;
  /** What was read (sha256 or ABSENT). */
  found: string;
  allowed: string[];
}

export class WriteLedger {
  readonly #paths = new Map<string, PathState>();
  /** Acknowledged POSTs: their Location and the sha256 of their body. */
  readonly created: { location: string; sha256: string }[] = [];

  #state(path: string): PathState {
    let state = this.#paths.get(path);
    if (state === undefined) {
      state = { acked: ABSENT, maybe: new Set(), etag: undefined };
      this.#paths.set(path, state);
    }
    return state;
  }

  /** A write (or, with ABSENT, a delete) of `path` was answered: `etag` is the new ETag on success. */
  record(path: string, result: string, ok: boolean, etag?: string): void {
    const state = this.#state(path);
    if (ok) {
      state.acked = result;
      state.maybe.clear();
      state.etag = result === ABSENT ? undefined : etag;
    } else {
      state.maybe.add(result);
      state.etag = undefined;
    }
  }

  /** A metadata change (bytes unchanged): a new ETag, or none known after a failure. */
  recordMetadata(path: string, etag: string | undefined): void {
    this.#state(path).etag = etag;
  }

  /** The ETag a conditional change may name, when it is certain. */
  etagOf(path: string): string | undefined {
    const state = this.#paths.get(path);
    return state === undefined || state.maybe.size > 0 ? undefined : state.etag;
  }

  /** True when the path certainly holds a file (acknowledged, nothing failed since). */
  certainlyExists(path: string): boolean {
    const state = this.#paths.get(path);
    return state !== undefined && state.acked !== ABSENT && state.maybe.size === 0;
  }

  allowed(path: string): string[] {
    const state = this.#paths.get(path);
    return state === undefined ? [ABSENT] : [state.acked, ...state.maybe];
  }

  check(path: string, found: string): ReadCheck {
    const allowed = this.allowed(path);
    return { path, ok: allowed.includes(found), found, allowed };
  }

  get paths(): string[] {
    return [...this.#paths.keys()];
  }

  /** Paths whose last answered write was acknowledged and not followed by a failed one. */
  get acknowledged(): number {
    let n = 0;
    for (const s of this.#paths.values()) if (s.maybe.size === 0 && s.acked !== ABSENT) n++;
    return n;
  }
}
