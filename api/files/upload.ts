/**
 * Moves an HTTP request body to the worker as data parts, only against the credit the worker grants, so
 * a slow store slows the client instead of filling the api's memory. Small network chunks are gathered
 * into parts of up to `chunkBytes`. Stops early, without reading the rest, if the worker answers first
 * (a failed precondition) or the body grows past `maxBytes`.
 */
import type { BrokerStream } from './broker-stream.ts';

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

export interface UploadOptions {
  maxBytes: number;
  chunkBytes: number;
}

/** Resolves true if the whole body was sent, false if the worker ended the stream first. */
export async function pumpUpload(
  stream: BrokerStream,
  body: AsyncIterable<Buffer>,
  options: UploadOptions,
): Promise<boolean> {
  let credit = 0;
  let wake: (() => void) | undefined;
  const signal = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const creditReader = (async () => {
    for (let part = await stream.next(); part !== undefined; part = await stream.next()) {
      if (part.part === 'credit') credit += part.credit ?? 0;
      signal();
    }
    signal();
  })();
  const send = async (chunk: Buffer): Promise<boolean> => {
    while (credit === 0 && !stream.finished) await new Promise<void>((resolve) => (wake = resolve));
    if (stream.finished) return false;
    credit--;
    await stream.sendData(chunk);
    return true;
  };

  let total = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  try {
    for await (const chunk of body) {
      total += chunk.length;
      if (total > options.maxBytes)
        throw new BodyTooLargeError(`the body is larger than ${options.maxBytes} bytes`);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= options.chunkBytes) {
        if (!(await send(Buffer.concat(pending, pendingBytes)))) return false;
        pending = [];
        pendingBytes = 0;
      }
    }
    if (pendingBytes > 0 && !(await send(Buffer.concat(pending, pendingBytes)))) return false;
    if (stream.finished) return false;
    await stream.end();
    return true;
  } catch (error) {
    stream.cancel();
    throw error;
  } finally {
    signal();
    void creditReader;
  }
}
