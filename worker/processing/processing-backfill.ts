/**
 * The whole-pod scan: a file whose processing job was lost and that nobody looks at (looking at its
 * preview or metadata asks for the job again, preview-service.ts) is found by walking every pod's file
 * records now and then. A version older than `afterMs` without a processing status gets its job asked
 * for again in its pod's lane (`requeue`, processing-lanes.ts requeueMessage: at most once per version
 * per duplicate window, whoever asks).
 *
 * One worker of the deployment walks at a time (PeriodicSweep with SweepTurns: the walk is a turn taken in
 * the store), so the walk costs the same with one worker or sixteen, and a worker the autoscaler adds
 * does not walk again what another just walked. Paced: at most `perSecond` records a second, two reads
 * each (the record, the status), so a large store costs a trickle of reads, never a burst. Pods take
 * turns a page at a time: a tenant with a huge pod slows the walk of its own pod, not of everyone's. Each
 * walk starts at a random pod, so walks cut short (their worker stopped) still cover every pod over time;
 * a version asked for twice is asked for once. Records being deleted and accounts being erased are left alone (the job would find them
 * gone anyway).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { filesPrefix, parseRecord } from '../files/file-record.ts';
import type { SweepResult } from '../periodic-sweep.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { statusKey } from './processing-status.ts';

export interface BackfillOptions {
  /** A version is asked for again only this long after its write (PROCESSING_REQUEUE_AFTER_MS). */
  afterMs: number;
  /** Records checked per second at most. */
  perSecond: number;
  /** Records of one pod per turn (one listing page); default 1000. */
  pageSize?: number;
  clock?: () => number;
  /** Picks the first pod of a walk (in [0, 1)); default Math.random. */
  random?: () => number;
}

const PAGE = 1000;
const USERS = 'users/';

export class ProcessingBackfill {
  readonly #clock: () => number;

  constructor(
    private readonly store: ObjectStore,
    private readonly requeue: (owner: string, path: string, etag: string) => void,
    private readonly options: BackfillOptions,
  ) {
    this.#clock = options.clock ?? Date.now;
  }

  /**
   * One walk over every pod; `removed` counts the jobs asked for (PeriodicSweep's result). Pods take
   * turns a page (1,000 records) at a time, so a pod of a million files delays the others' by a page
   * per turn, not by its whole walk. `signal` ends the walk at its next record (the worker is shutting
   * down, or another worker took the walk over).
   */
  async sweep(signal?: AbortSignal): Promise<SweepResult> {
    const pods = await this.#pods();
    const first = Math.floor((this.options.random ?? Math.random)() * pods.length);
    // Each pod waiting for its next turn, with where its walk stands.
    const turns: { owner: string; startAfter: string | undefined }[] = pods.map((_, i) => ({
      owner: pods[(first + i) % pods.length] as string,
      startAfter: undefined,
    }));
    const gapMs = 1000 / this.options.perSecond;
    const stopped = () => signal?.aborted === true;
    let asked = 0;
    let kept = 0;
    for (let turn = turns.shift(); turn !== undefined && !stopped(); turn = turns.shift()) {
      const prefix = filesPrefix(turn.owner);
      const page = await this.store.list(prefix, {
        limit: this.options.pageSize ?? PAGE,
        ...(turn.startAfter === undefined ? {} : { startAfter: turn.startAfter }),
      });
      for (const { key } of page.items) {
        if (stopped()) break;
        const started = performance.now();
        if (await this.#askIfLost(turn.owner, key.slice(prefix.length), key)) asked++;
        else kept++;
        const rest = gapMs - (performance.now() - started);
        if (rest > 0) await sleep(rest, undefined, { ref: false });
      }
      if (page.next !== undefined) turns.push({ owner: turn.owner, startAfter: page.next });
    }
    return { removed: asked, kept };
  }

  /** The owners of every pod (the names under `users/`). */
  async #pods(): Promise<string[]> {
    const owners: string[] = [];
    let startAfter: string | undefined;
    do {
      const page = await this.store.listChildren(USERS, {
        limit: PAGE,
        ...(startAfter === undefined ? {} : { startAfter }),
      });
      for (const entry of page.entries) {
        if (entry.kind === 'prefix') owners.push(entry.prefix.slice(USERS.length, -1));
      }
      startAfter = page.next;
    } while (startAfter !== undefined);
    return owners;
  }

  /** Asks for the job of the record's version if it is old enough and has no status; true if it did. */
  async #askIfLost(owner: string, path: string, key: string): Promise<boolean> {
    if (path === '' || path.endsWith('/')) return false;
    const object = await this.store.get(key);
    if (object === undefined) return false;
    let record: ReturnType<typeof parseRecord>;
    try {
      record = parseRecord(object.body);
    } catch {
      return false; // not a file record (another format): nothing to process
    }
    if (record.deleting !== undefined) return false;
    if (this.#clock() - Date.parse(record.updatedAt) <= this.options.afterMs) return false;
    if ((await this.store.head(statusKey(owner, path, record.etag))) !== undefined) return false;
    this.requeue(owner, path, record.etag);
    return true;
  }
}
