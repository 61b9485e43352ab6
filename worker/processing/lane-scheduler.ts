/**
 * Takes processing jobs from the lanes (processing-lanes.ts) in turn. Each worker holds at most
 * `concurrency` jobs of each lane (one pull loop per slot and lane); when one of its `concurrency` slots
 * frees, it starts a held job of the next lane after the one it started last. So a job waits for at
 * most one job of every other busy lane per slot, however many files another pod uploaded; and a lane
 * alone gets every free slot (nothing is held back when nobody else waits).
 *
 * A held job is kept alive with `working()` until it starts (then its handler keeps it alive), so it is
 * not handed to another worker meanwhile; a worker that dies holding jobs gives them back after the
 * consumers' ack wait. Survives NATS restarts (each lane's loop looks its consumer up again).
 */
import type { JsMsg } from 'nats';
import type { Logger } from '../../runtime/logger.ts';
import type { NatsLink } from '../../runtime/nats-link.ts';

export interface LaneSchedulerOptions {
  stream: string;
  lanes: number;
  durableOf: (lane: number) => string;
  concurrency: number;
  /** How often a held job that has not started says it is still wanted. */
  heartbeatMs: number;
  handle: (message: JsMsg) => Promise<void>;
}

interface Held {
  message: JsMsg;
  started: boolean;
  /** Lets the lane's loop take its next job. */
  release: () => void;
}

/** How long one pull waits for a job before asking again. */
const PULL_EXPIRES_MS = 10_000;

export class LaneScheduler {
  /** Per lane, the jobs held (started or not), in the order they came. */
  readonly #held: Held[][];
  #running = 0;
  /** The lane whose held job is looked at first when a slot frees. */
  #turn = 0;
  #stopped = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #loops: Promise<void>[] = [];

  constructor(
    private readonly link: NatsLink,
    private readonly options: LaneSchedulerOptions,
    private readonly logger: Logger,
  ) {
    this.#held = Array.from({ length: options.lanes }, () => []);
  }

  start(): void {
    this.#heartbeat = setInterval(() => {
      for (const lane of this.#held) for (const held of lane) if (!held.started) held.message.working();
    }, this.options.heartbeatMs);
    this.#heartbeat.unref();
    for (let lane = 0; lane < this.options.lanes; lane++)
      for (let slot = 0; slot < this.options.concurrency; slot++) this.#loops.push(this.#lane(lane));
  }

  /** Stops taking jobs, gives back the held ones, and waits (at most `graceMs`) for the running ones. */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    for (const lane of this.#held) {
      for (const held of lane) {
        if (held.started) continue;
        held.message.nak();
        held.release();
      }
    }
    const until = Date.now() + graceMs;
    while (this.#running > 0 && Date.now() < until) await sleep(20);
    // A lane's pull may wait for a NATS that never came: do not wait for it past the grace period.
    await Promise.race([Promise.all(this.#loops), sleep(Math.max(0, until - Date.now()))]);
  }

  /** Jobs held and running now, for tests and metrics. */
  get load(): { held: number; running: number } {
    return { held: this.#held.reduce((n, lane) => n + lane.length, 0), running: this.#running };
  }

  async #lane(lane: number): Promise<void> {
    const { stream, durableOf } = this.options;
    while (!this.#stopped) {
      try {
        const nc = await this.link.ready();
        const consumer = await nc.jetstream().consumers.get(stream, durableOf(lane));
        while (!this.#stopped) {
          const message = await consumer.next({ expires: PULL_EXPIRES_MS });
          if (message === null) continue;
          if (this.#stopped) {
            message.nak();
            break;
          }
          await this.#hold(lane, message);
        }
      } catch (err) {
        if (this.#stopped) break;
        this.logger.warn({ err: (err as Error).message, lane }, 'processing lane stopped; restarting');
        await sleep(1000);
      }
    }
  }

  /** Holds the lane's job until a slot takes it; resolves once it has run (or was given back). */
  #hold(lane: number, message: JsMsg): Promise<void> {
    return new Promise((release) => {
      (this.#held[lane] as Held[]).push({ message, started: false, release });
      this.#dispatch();
    });
  }

  /** Starts held jobs, lane after lane from the turn, while slots are free. */
  #dispatch(): void {
    const { lanes, concurrency } = this.options;
    while (this.#running < concurrency && !this.#stopped) {
      let lane = -1;
      let held: Held | undefined;
      for (let i = 0; i < lanes && held === undefined; i++) {
        lane = (this.#turn + i) % lanes;
        held = (this.#held[lane] as Held[]).find((h) => !h.started);
      }
      if (held === undefined) return;
      held.started = true;
      this.#turn = (lane + 1) % lanes;
      this.#running++;
      const job = held;
      void this.options
        .handle(job.message)
        .catch((err: unknown) => {
          this.logger.error({ err, lane }, 'processing job handler failed');
          job.message.nak(1000);
        })
        .finally(() => {
          this.#running--;
          const list = this.#held[lane] as Held[];
          list.splice(list.indexOf(job), 1);
          job.release();
          this.#dispatch();
        });
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
