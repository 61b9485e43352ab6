/**
 * zeromq.js allows one send in progress per socket. SocketWriter queues sends so that many concurrent
 * callers can share one socket, in order. A send that fails (peer gone with ROUTER_MANDATORY, socket
 * closed, send timeout) rejects only its own caller.
 */
export interface Sendable {
  send(frames: Buffer[]): Promise<void>;
}

export class SocketWriter {
  #tail: Promise<void> = Promise.resolve();

  constructor(private readonly socket: Sendable) {}

  send(frames: Buffer[]): Promise<void> {
    const result = this.#tail.then(() => this.socket.send(frames));
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
