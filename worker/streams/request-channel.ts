/**
 * One request as the worker sees it: the command, a way to send reply parts to the client, and the parts
 * the client sends for it (upload data, download credit, end, cancel), queued until read. The queue is
 * bounded by the protocol itself: a client sends data only against credit the worker granted.
 *
 * `abort` ends the request from the worker's side (its deadline passed): whoever waits for a part, or
 * sends one, gets the error, so a transfer stops instead of running on after its answer was given.
 */

import type { PartKind, RequestHeader } from '../../protocol/frames.ts';
import type { Placement } from '../../protocol/placement.ts';

export interface ClientPart {
  part: PartKind;
  credit?: number;
  body: Buffer;
}

export type SendPart = (part: PartKind, body?: Buffer, credit?: number) => Promise<void>;

/** A protocol violation or a cancel from the client; the command ends with it. */
export class StreamAbortedError extends Error {
  override name = 'StreamAbortedError';
}

export class RequestChannel {
  readonly #queue: ClientPart[] = [];
  #waiter: { resolve: (part: ClientPart) => void; reject: (error: Error) => void } | undefined;
  #cancelled = false;
  readonly #abort = new AbortController();
  #streamed = false;
  readonly #send: SendPart;

  /** What the broker said of the command's pod (protocol/placement.ts), when it has one. */
  placement: Placement | undefined;

  constructor(
    readonly header: RequestHeader,
    readonly body: Buffer,
    send: SendPart,
    /** Called once, when the first part goes either way (for an in-flight streams gauge). */
    private readonly onStreamStart: () => void = () => undefined,
  ) {
    this.#send = send;
  }

  /** Sends a reply part (meta, data, credit) to the client; rejects once the request was aborted. */
  readonly sendPart: SendPart = (part, body, credit) => {
    if (this.#abort.signal.aborted) return Promise.reject(this.#abort.signal.reason as Error);
    this.#markStreamed();
    return this.#send(part, body, credit);
  };

  #markStreamed(): void {
    if (this.#streamed) return;
    this.#streamed = true;
    this.onStreamStart();
  }

  /** True once the client sent `cancel`. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** True once a part went either way: the request is a stream (upload or download). */
  get streamed(): boolean {
    return this.#streamed;
  }

  /** Aborted when the worker gives up on the request (its deadline passed). */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Gives up on the request: a pending or later `next`, and every later `sendPart`, fail with `error`. */
  abort(error: Error): void {
    if (this.#abort.signal.aborted) return;
    this.#abort.abort(error);
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  }

  /** Called by the session for every part the client sends for this request. */
  deliver(part: ClientPart): void {
    if (part.part === 'cancel') this.#cancelled = true;
    this.#markStreamed();
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve(part);
    } else if (this.#queue.length < 10_000) {
      this.#queue.push(part);
    }
  }

  /** The next part from the client; rejects after `idleMs` without one, or when the request is aborted. */
  next(idleMs: number): Promise<ClientPart> {
    if (this.#abort.signal.aborted) return Promise.reject(this.#abort.signal.reason as Error);
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new StreamAbortedError(`no part from the client for ${idleMs} ms`));
      }, idleMs);
      this.#waiter = {
        resolve: (part) => {
          clearTimeout(timer);
          resolve(part);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  /** Takes a queued part without waiting (e.g. a credit that arrived while sending). */
  poll(): ClientPart | undefined {
    return this.#queue.shift();
  }
}
