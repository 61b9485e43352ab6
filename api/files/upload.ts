/**
 * Moves an HTTP request body to the worker as data parts, only against the credit the worker grants, so
 * a slow store slows the client instead of filling the api's memory. Small network chunks are gathered
 * into parts of up to `chunkBytes`. Stops early, without reading the rest, if the worker answers first
 * (a failed precondition, a stalled client it gave up on, a lost worker) or the body grows past
 * `maxBytes`; waiting for the client's next bytes never outlasts the transfer.
 */
import type { BrokerStream } from './broker-stream.ts';
import type { BodyReader } from './replayable-body.ts';

const ENDED = Symbol('ended');

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
  body: BodyReader,
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

  // The worker's answer (or the call's failure) ends the transfer even while the client sends nothing.
  // One listener, not a Promise.race per chunk: each race would leave a reaction on the still-pending
  // result holding its chunk, so the whole body would stay in memory until the upload ended.
  let ended = false;
  let interrupt: (() => void) | undefined;
  const onEnd = () => {
    ended = true;
    interrupt?.();
  };
  stream.result.then(onEnd, onEnd);
  const nextChunk = () =>
    new Promise<IteratorResult<Buffer> | typeof ENDED>((resolve, reject) => {
      if (ended) {
        resolve(ENDED);
        return;
      }
      interrupt = () => resolve(ENDED);
      body.next().then(resolve, reject);
    }).finally(() => {
      interrupt = undefined;
    });
  let total = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  try {
    for (;;) {
      const next = await nextChunk();
      if (next === ENDED) return false; // the request is closed with the response; nobody reads the rest
      if (next.done) break;
      const chunk = next.value;
      total += chunk.length;
      if (total > options.maxBytes)
        throw new BodyTooLargeError(`the body is larger than ${options.maxBytes} bytes`);
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= options.chunkBytes) {
        // A read that fills a part alone goes as it is (a copy only to join several).
        if (!(await send(pending.length === 1 ? chunk : Buffer.concat(pending, pendingBytes)))) return false;
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
