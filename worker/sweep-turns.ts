/**
 * Whose turn it is to sweep. A sweep of the whole store (the processing backfill's walk over every pod,
 * the blob and upload sweeps) costs the same whichever worker runs it, so the deployment runs one of a
 * kind per period, not one per worker: with N workers, N walks would cost N times the reads for nothing,
 * and a worker the autoscaler adds under load would walk every pod just when the store is busiest.
 *
 * The turn is a small record in the object store, `sweeps/<kind>.json`:
 *
 *   { holder, startedAt, leaseUntil, finishedAt? }      (times in ms since the epoch, the workers' clocks)
 *
 * A sweep is due when no turn was ever taken, or the last one ended (`finishedAt`) `everyMs` ago, or the
 * turn under way is abandoned (its holder stopped renewing it: `leaseUntil` passed, as when a worker is
 * killed mid-sweep). Taking, renewing and ending a turn are conditional writes on the record's version
 * (If-None-Match `*` for the first, If-Match for the others), so two workers never both hold a turn: the
 * loser of a race gets PreconditionFailed and sweeps nothing. A holder that lost its turn (it stalled
 * past its lease and another took over) learns it at its next renewal and stops.
 *
 * Clocks: the times come from the workers' own clocks; a skew of a few seconds only moves a sweep by as
 * much. A failed sweep gives the turn back at once (the next check by any worker tries again).
 */
import { hostname } from 'node:os';
import { type ObjectStore, PreconditionFailedError } from './storage/object-store.ts';

export interface SweepTurnsOptions {
  /** A sweep starts this long after the last one ended. */
  everyMs: number;
  /** A turn not renewed for this long is abandoned; default 30 s. Renewed every third of it. */
  leaseMs?: number;
  /** Who holds a turn, in the record (for people reading it); default host, pid and a random tag. */
  holder?: string;
  clock?: () => number;
}

interface TurnRecord {
  holder: string;
  startedAt: number;
  leaseUntil: number;
  finishedAt?: number;
}

/** A turn this worker holds: renew it while sweeping, end it when done. */
export interface SweepTurn {
  /** Extends the lease; false when the turn was lost (another worker took it over): stop sweeping. */
  renew(): Promise<boolean>;
  /** Ends the turn: `swept` says whether the sweep completed (else the next check sweeps again). */
  end(swept: boolean): Promise<void>;
  readonly renewEveryMs: number;
}

export const SWEEPS_PREFIX = 'sweeps/';
const DEFAULT_LEASE_MS = 30_000;

export function sweepTurnKey(kind: string): string {
  return `${SWEEPS_PREFIX}${kind}.json`;
}

export class SweepTurns {
  readonly #key: string;
  readonly #leaseMs: number;
  readonly #holder: string;
  readonly #clock: () => number;

  constructor(
    private readonly store: ObjectStore,
    /** Names the sweep: `processing-backfill`, `blob-sweep`, `upload-sweep`. */
    kind: string,
    private readonly options: SweepTurnsOptions,
  ) {
    if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new Error(`sweep kind must be lower-case words, got ${kind}`);
    this.#key = sweepTurnKey(kind);
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#holder = options.holder ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
    this.#clock = options.clock ?? Date.now;
  }

  /** Takes the turn if a sweep is due and nobody holds it; undefined when it is not this worker's turn. */
  async take(): Promise<SweepTurn | undefined> {
    const current = await this.store.get(this.#key);
    const now = this.#clock();
    if (current !== undefined) {
      const record = parseTurn(current.body);
      if (record !== undefined && !isDue(record, now, this.options.everyMs)) return undefined;
    }
    const taken: TurnRecord = { holder: this.#holder, startedAt: now, leaseUntil: now + this.#leaseMs };
    const etag = await this.#write(
      taken,
      current === undefined ? { ifNoneMatch: '*' } : { ifMatch: current.etag },
    );
    return etag === undefined ? undefined : this.#turn(taken, etag);
  }

  #turn(taken: TurnRecord, firstEtag: string): SweepTurn {
    let etag = firstEtag;
    let lost = false;
    return {
      renewEveryMs: Math.max(1, Math.floor(this.#leaseMs / 3)),
      renew: async () => {
        if (lost) return false;
        const next = await this.#write(
          { ...taken, leaseUntil: this.#clock() + this.#leaseMs },
          { ifMatch: etag },
        );
        if (next === undefined) lost = true;
        else etag = next;
        return !lost;
      },
      end: async (swept) => {
        if (lost) return;
        const now = this.#clock();
        // A failed sweep leaves no finishedAt and an expired lease: due again at the next check.
        const ended: TurnRecord = swept
          ? { ...taken, leaseUntil: now, finishedAt: now }
          : { ...taken, leaseUntil: 0 };
        lost = true;
        await this.#write(ended, { ifMatch: etag });
      },
    };
  }

  /** The new version's etag, or undefined when the record changed meanwhile (another worker wrote it). */
  async #write(
    record: TurnRecord,
    condition: { ifMatch: string } | { ifNoneMatch: '*' },
  ): Promise<string | undefined> {
    try {
      const { etag } = await this.store.put(this.#key, Buffer.from(JSON.stringify(record)), {
        ...condition,
        contentType: 'application/json',
      });
      return etag;
    } catch (error) {
      if (error instanceof PreconditionFailedError) return undefined;
      throw error;
    }
  }
}

/** Due: the last turn ended `everyMs` ago, or the turn under way was abandoned. */
function isDue(record: TurnRecord, now: number, everyMs: number): boolean {
  if (record.finishedAt !== undefined) return now >= record.finishedAt + everyMs;
  return now >= record.leaseUntil;
}

/** The record, or undefined if it is not one (then it is overwritten, conditionally, by the next turn). */
function parseTurn(body: Buffer): TurnRecord | undefined {
  try {
    const value = JSON.parse(body.toString('utf8')) as Partial<TurnRecord>;
    if (typeof value.holder !== 'string' || typeof value.startedAt !== 'number') return undefined;
    if (typeof value.leaseUntil !== 'number') return undefined;
    if (value.finishedAt !== undefined && typeof value.finishedAt !== 'number') return undefined;
    return value as TurnRecord;
  } catch {
    return undefined;
  }
}
