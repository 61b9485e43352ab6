/**
 * An upload as the worker receives it: grants the client `window` data parts of credit, yields each
 * part's bytes, and grants more as the consumer takes them (in batches of half the window). The client
 * can never have more than `window` parts in flight, so memory per upload is bounded by the window.
 */
import { type RequestChannel, StreamAbortedError } from './request-channel.ts';

export interface InboundOptions {
  window: number;
  idleMs: number;
  /** Upload ends with an error once more than this many bytes arrived. */
  maxBytes: number;
}

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

export async function* inboundBody(channel: RequestChannel, options: InboundOptions): AsyncGenerator<Buffer> {
  const { window, idleMs, maxBytes } = options;
  const refill = Math.max(1, Math.floor(window / 2));
  await channel.sendPart('credit', undefined, window);
  let consumed = 0;
  let received = 0;
  for (;;) {
    const part = await channel.next(idleMs);
    if (part.part === 'end') return;
    if (part.part === 'cancel') throw new StreamAbortedError('the client cancelled the upload');
    if (part.part !== 'data') throw new StreamAbortedError(`unexpected ${part.part} part in an upload`);
    received += part.body.length;
    if (received > maxBytes) throw new BodyTooLargeError(`the body is larger than ${maxBytes} bytes`);
    yield part.body;
    consumed++;
    if (consumed >= refill) {
      await channel.sendPart('credit', undefined, consumed);
      consumed = 0;
    }
  }
}
