/**
 * The api's end of one streamed command: the parts the worker sends (meta, data, credit) queue here until
 * read, the client's own parts (data, credit, end, cancel) go out through `send`, and `result` settles
 * with the FINAL outcome. The queue is bounded by credit: the worker sends data only against credit the
 * api granted, and credit only for data the api may send.
 */
import type { PartKind } from '../../protocol/frames.ts';
import type { Outcome } from '../../protocol/outcome.ts';

export interface WorkerPart {
  part: PartKind;
  credit?: number;
  body: Buffer;
}

export type SendClientPart = (
  final: boolean,
  part: PartKind,
  body?: Buffer,
  credit?: number,
) => Promise<void>;

export class BrokerStream {
  readonly result: Promise<Outcome>;
  #settle!: { resolve: (o: Outcome) => void; reject: (e: Error) => void };
  readonly #queue: WorkerPart[] = [];
  #waiter: ((part: WorkerPart | undefined) => void) | undefined;
  #done = false;

  constructor(
    private readonly sendPart: SendClientPart,
    /** How long the HTTP side of this transfer may make no progress before it is abandoned. */
    readonly idleMs = 30_000,
  ) {
    this.result = new Promise<Outcome>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    this.result.catch(() => undefined); // a caller that never awaits the result must not crash the process
  }

  /** Called by the broker client for each PARTIAL of this stream. */
  deliver(part: WorkerPart): void {
    if (this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter(part);
    } else {
      this.#queue.push(part);
    }
  }

  /** Called by the broker client with the FINAL outcome, or the reason there will be none. */
  finish(outcome: Outcome | Error): void {
    this.#done = true;
    if (outcome instanceof Error) this.#settle.reject(outcome);
    else this.#settle.resolve(outcome);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(undefined);
  }

  /** The next part from the worker, or undefined once the FINAL arrived. */
  next(): Promise<WorkerPart | undefined> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#done) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  get finished(): boolean {
    return this.#done;
  }

  sendData(chunk: Buffer): Promise<void> {
    return this.sendPart(false, 'data', chunk);
  }

  grant(credit: number): Promise<void> {
    return this.sendPart(false, 'credit', undefined, credit);
  }

  end(): Promise<void> {
    return this.sendPart(true, 'end');
  }

  /** Tells the worker to stop; safe to call more than once or after the end. */
  cancel(): void {
    if (this.#done) return;
    this.sendPart(true, 'cancel').catch(() => undefined);
  }
}
