/**
 * The start of a download, up to the point where the HTTP response is committed: the worker's metadata
 * part and its first data part (for a small file, all of it). Until then nothing has gone to the client,
 * so when the worker serving it dies (`worker_lost`) the download is simply opened again on another
 * worker. After that point a lost worker fails the one response (download.ts).
 */
import { unpack } from '../../protocol/codec.ts';
import { isWorkerLost } from '../broker-client.ts';
import type { BrokerStream, WorkerPart } from './broker-stream.ts';

export interface StartedDownload {
  stream: BrokerStream;
  /** The metadata part, or undefined if the stream ended without one (its result says why). */
  meta: WorkerPart | undefined;
  /** Data parts read ahead, to be sent first. */
  early: WorkerPart[];
}

/** Bytes the response body will have, from the worker's metadata part. */
function bodyLength(meta: Buffer): number {
  const { status, start, end } = unpack(meta) as { status: number; start: number; end: number };
  return status === 200 || status === 206 ? end - start + 1 : 0;
}

const lostItsWorker = (stream: BrokerStream) =>
  stream.result.then(
    () => false,
    (error: unknown) => isWorkerLost(error),
  );

export async function startDownload(
  open: () => BrokerStream,
  maxAttempts: number,
  onRetry?: (attempt: number) => void,
): Promise<StartedDownload> {
  for (let attempt = 1; ; attempt++) {
    const stream = open();
    const meta = await stream.next();
    const early: WorkerPart[] = [];
    let ended = meta === undefined;
    if (meta?.part === 'meta') {
      // Read up to the first data part, or the end (a 304, a 416, an empty file, a failure); when that
      // part is the whole body, on to the end, so the worker's outcome is known too.
      const length = bodyLength(meta.body);
      let bytes = 0;
      for (;;) {
        const part = await stream.next();
        if (part === undefined) {
          ended = true;
          break;
        }
        early.push(part);
        if (part.part === 'data') bytes += part.body.length;
        if (bytes > 0 && bytes < length) break;
      }
    }
    if (ended && attempt < maxAttempts && (await lostItsWorker(stream))) {
      onRetry?.(attempt);
      continue;
    }
    return { stream, meta, early };
  }
}
