/**
 * Helpers for the bodies getStream returns: range checks, and a wrapper that turns any failure of the
 * underlying stream (a read error, a dropped or stalled connection) into the store's own error, so
 * that a consumer of either adapter sees StorageUnavailableError mid-body.
 */
import { finished, PassThrough, Readable } from 'node:stream';
import type { ByteRange } from './object-store.ts';

/** Throws RangeError unless `range` has integer bounds with 0 <= start <= end. */
export function assertByteRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`invalid byte range ${start}-${end}`);
  }
}

/**
 * `source` seen through a PassThrough: flow control is kept (pipe), destroying the result destroys
 * the source (closing its file or connection), and a failure or premature end of the source destroys
 * the result with `translate(error)`.
 */
export function guardedBody(source: Readable, translate: (error: unknown) => Error): Readable {
  const body = new PassThrough();
  source.pipe(body);
  finished(source, (error) => {
    // After a consumer destroyed the body, the source's premature close is nothing to report.
    if (error && !body.destroyed) body.destroy(translate(error));
  });
  body.once('close', () => {
    if (!source.readableEnded && !source.destroyed) source.destroy();
  });
  return body;
}

export function emptyBody(): Readable {
  return Readable.from([]);
}
