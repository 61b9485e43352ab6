/**
 * One request as the worker sees it: the command, a way to send reply parts to the client, and the parts
 * the client sends for it (upload data, download credit, end, cancel), queued until read. The queue is
 * bounded by the protocol itself: a client sends data only against credit the worker granted.
 */
import type { PartKind, RequestHeader } from '../../protocol/frames.ts';

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
  #waiter: ((part: ClientPart) => void) | undefined;
  #cancelled = false;

  constructor(
    readonly header: RequestHeader,
    readonly body: Buffer,
    readonly sendPart: SendPart,
  ) {}

  /** True once the client sent `cancel`. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Called by the session for every part the client sends for this request. */
  deliver(part: ClientPart): void {
    if (part.part === 'cancel') this.#cancelled = true;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter(part);
    } else if (this.#queue.length < 10_000) {
      this.#queue.push(part);
    }
  }

  /** The next part from the client; rejects after `idleMs` without one. */
  next(idleMs: number): Promise<ClientPart> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new StreamAbortedError(`no part from the client for ${idleMs} ms`));
      }, idleMs);
      this.#waiter = (part) => {
        clearTimeout(timer);
        resolve(part);
      };
    });
  }

  /** Takes a queued part without waiting (e.g. a credit that arrived while sending). */
  poll(): ClientPart | undefined {
    return this.#queue.shift();
  }
}
