/**
 * One Server-Sent Events response body: events (`id:` is the stream sequence, `data:` the event as
 * JSON), comments, and a `: ping` heartbeat while idle. Writes never wait: when the client stops
 * reading and more than `maxBufferBytes` pile up unsent, the stream is destroyed (the client is
 * disconnected) instead of buffering without bound.
 */
import { PassThrough } from 'node:stream';

export interface SseStreamOptions {
  heartbeatMs: number;
  maxBufferBytes: number;
  /** Called once when the stream ends for any reason (client gone, overflow, close()). */
  onClose: (reason: 'closed' | 'overflow' | 'client') => void;
}

/** How long a client waits before reconnecting (the SSE `retry:` field). */
const RETRY_MS = 2000;

export class SseStream {
  readonly body = new PassThrough();
  #heartbeat: NodeJS.Timeout;
  #lastWrite = Date.now();
  #ended = false;

  constructor(private readonly options: SseStreamOptions) {
    this.#heartbeat = setInterval(() => {
      if (Date.now() - this.#lastWrite >= options.heartbeatMs / 2) this.comment('ping');
    }, options.heartbeatMs);
    this.body.on('close', () => this.#end('client'));
    this.#write(`retry: ${RETRY_MS}\n\n`);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Unsent bytes held for this client. */
  get buffered(): number {
    return this.body.writableLength + this.body.readableLength;
  }

  event(id: number, data: unknown): void {
    this.#write(`id: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  comment(text: string): void {
    this.#write(`: ${text.replace(/[\r\n]+/g, ' ')}\n\n`);
  }

  /** Ends the response normally (e.g. the server is shutting down). */
  close(): void {
    if (this.#ended) return;
    this.#end('closed');
    this.body.end();
  }

  #write(text: string): void {
    if (this.#ended) return;
    this.#lastWrite = Date.now();
    this.body.write(text);
    if (this.buffered > this.options.maxBufferBytes) {
      this.#end('overflow');
      this.body.destroy();
    }
  }

  #end(reason: 'closed' | 'overflow' | 'client'): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#heartbeat);
    this.options.onClose(reason);
  }
}
