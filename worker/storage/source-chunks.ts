/**
 * Reading the caller's source in putStream. Errors thrown by the source must reach the caller as they
 * are (the file service tells a client that went away from a storage failure), while errors of the
 * store itself are translated; so source errors travel wrapped in SourceError through the adapter's
 * error translation and are unwrapped at the edge.
 */

/** An error thrown by the caller's source; `cause` is the original. */
export class SourceError extends Error {
  override name = 'SourceError';
}

/**
 * The source's chunks as Buffers, skipping empty ones. Stopping early (break, throw) returns the
 * source's iterator, so it can release what it holds.
 */
export async function* sourceChunks(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of source as AsyncIterable<unknown>) {
      const buffer = toBuffer(chunk);
      if (buffer.length > 0) yield buffer;
    }
  } catch (error) {
    throw new SourceError('the source of putStream failed', { cause: error });
  }
}

/** Runs `run`; a SourceError it throws is replaced by the source's original error. */
export async function unwrapSourceError<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof SourceError) throw error.cause;
    throw error;
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk);
  throw new TypeError(`putStream source yielded ${typeof chunk}, not a Buffer`);
}
