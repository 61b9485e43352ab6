/**
 * Per-caller limits of the api: how many requests, transfers (uploads and downloads) and event streams
 * one caller may have in flight at once on this api replica. A caller is the authenticated principal,
 * or the client's address while a request is not (yet) authenticated (sign-up, token checks, refused
 * tokens). What is over a limit is refused at once (429 with Retry-After) and costs nobody else.
 *
 * Pure bookkeeping: counters per caller key, released exactly once. No timers, no sockets.
 */

/** What a request holds while it runs. Every kind also counts as a request, except `events`. */
export type SlotKind = 'request' | 'transfer' | 'events';

/** Why a request was refused: which limit it hit (the `reason` label of the throttled metric). */
export type ThrottleReason = 'requests' | 'transfers' | 'events' | 'anonymous';
/** Why a request got 429: one of this api's limits, or `queue`, the broker's per-caller queue bound. */
export type ThrottledReason = ThrottleReason | 'queue';

export interface CallerLimitSettings {
  /** Requests in flight per authenticated principal (transfers included). */
  requestsPerCaller: number;
  /** Uploads and downloads in flight per authenticated principal. */
  transfersPerCaller: number;
  /** Live event streams open per authenticated principal. */
  eventStreamsPerCaller: number;
  /** Requests in flight per client address while unauthenticated (token checks and sign-ups); 0: no limit. */
  requestsPerAddress: number;
}

export type Acquired = { ok: true; release: () => void } | { ok: false; reason: ThrottleReason };

interface Counts {
  requests: number;
  transfers: number;
  events: number;
}

/** The key of an unauthenticated caller: its address, in a namespace no username can take. */
export const addressKey = (address: string): string => `ip:${address}`;

export class CallerLimits {
  readonly #counts = new Map<string, Counts>();

  constructor(private readonly settings: CallerLimitSettings) {}

  /**
   * Takes a slot of `kind` for `caller` (a principal, or `addressKey(ip)` for an unauthenticated one),
   * or says which limit refuses it. `release` gives the slot back; calling it again does nothing.
   */
  acquire(caller: string, kind: SlotKind, anonymous = false): Acquired {
    const counts = this.#counts.get(caller) ?? { requests: 0, transfers: 0, events: 0 };
    const s = this.settings;
    if (anonymous) {
      if (s.requestsPerAddress > 0 && counts.requests >= s.requestsPerAddress)
        return { ok: false, reason: 'anonymous' };
    } else if (kind === 'events') {
      if (counts.events >= s.eventStreamsPerCaller) return { ok: false, reason: 'events' };
    } else {
      if (counts.requests >= s.requestsPerCaller) return { ok: false, reason: 'requests' };
      if (kind === 'transfer' && counts.transfers >= s.transfersPerCaller)
        return { ok: false, reason: 'transfers' };
    }
    const field = anonymous || kind === 'request' ? 'requests' : kind === 'transfer' ? 'transfers' : 'events';
    counts.requests += field === 'events' ? 0 : 1;
    if (field !== 'requests') counts[field] += 1;
    this.#counts.set(caller, counts);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (field !== 'events') counts.requests -= 1;
      if (field !== 'requests') counts[field] -= 1;
      if (counts.requests === 0 && counts.transfers === 0 && counts.events === 0) {
        if (this.#counts.get(caller) === counts) this.#counts.delete(caller);
      }
    };
    return { ok: true, release };
  }

  /** What `caller` holds now (for tests and diagnostics). */
  inFlight(caller: string): Counts {
    const counts = this.#counts.get(caller);
    return counts === undefined ? { requests: 0, transfers: 0, events: 0 } : { ...counts };
  }

  /** How many callers hold anything (the map never keeps idle callers). */
  get callers(): number {
    return this.#counts.size;
  }
}
