/**
 * A download as the api passes it on: data parts from the worker become a byte stream for the HTTP
 * response, and each part the response takes is paid back to the worker as credit. When the client
 * reads slowly the response stops pulling, no credit goes out and the worker stops reading the store:
 * memory per download stays at about the credit window. A client that goes away cancels the transfer.
 */
import { Readable } from 'node:stream';
import type { BrokerStream } from './broker-stream.ts';

export class TransferFailedError extends Error {
  override name = 'TransferFailedError';
}

export function downloadBody(stream: BrokerStream, window: number, chunkBytes: number): Readable {
  const refill = Math.max(1, Math.floor(window / 2));
  async function* chunks(): AsyncGenerator<Buffer> {
    let consumed = 0;
    try {
      for (let part = await stream.next(); part !== undefined; part = await stream.next()) {
        if (part.part !== 'data') continue;
        yield part.body;
        consumed++;
        if (consumed >= refill) {
          await stream.grant(consumed);
          consumed = 0;
        }
      }
      const outcome = await stream.result;
      if (!outcome.ok) throw new TransferFailedError(`download failed: ${outcome.error.detail}`);
    } finally {
      stream.cancel();
    }
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: chunkBytes });
}
