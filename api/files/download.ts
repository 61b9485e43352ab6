/**
 * A download as the api passes it on: data parts from the worker become a byte stream for the HTTP
 * response, and each part the response takes is paid back to the worker as credit. When the client
 * reads slowly the response stops pulling, no credit goes out and the worker stops reading the store:
 * memory per download stays at about the credit window. A client that goes away cancels the transfer.
 *
 * When the worker serving the download dies mid-stream (`worker_lost`), the api reopens it on another
 * worker at the byte reached (download-resume.ts), for the same version only (If-Match on the ETag the
 * response announced), up to `resume.attempts` times: the client sees no break. Any other failure
 * (storage error, broker gone, the file replaced meanwhile, no reopening left) destroys the response at
 * once, even if its client is not reading; and a client that reads nothing for the stream's idle time
 * is cut off (the worker is told to stop). The errors are HttpProblems, so a failure before the headers
 * went out is still answered with the right status (503, 504), never 500.
 */
import { Readable } from 'node:stream';
import { BrokerCallError, isWorkerLost } from '../broker-client.ts';
import { fromBrokerError, fromOutcomeError, HttpProblem } from '../problem.ts';
import type { BrokerStream, WorkerPart } from './broker-stream.ts';
import type { DownloadResume } from './download-resume.ts';

interface Ending {
  /** The error the transfer ends with, or undefined when it succeeded. */
  failure: Error | undefined;
  /** The worker serving it died: another one may take over. */
  workerLost: boolean;
}

const endingOf = (stream: BrokerStream): Promise<Ending> =>
  stream.result.then(
    (outcome) => ({
      failure: outcome.ok ? undefined : fromOutcomeError(outcome.error),
      workerLost: false,
    }),
    (error: unknown) => ({
      failure:
        error instanceof BrokerCallError
          ? fromBrokerError(error)
          : error instanceof Error
            ? error
            : new Error(String(error)),
      workerLost: isWorkerLost(error),
    }),
  );

/** `early`: data parts already read from the stream (by startDownload), sent first. */
export function downloadBody(
  first: BrokerStream,
  window: number,
  chunkBytes: number,
  early: WorkerPart[] = [],
  resume?: DownloadResume,
): Readable {
  const refill = Math.max(1, Math.floor(window / 2));
  let stalled: NodeJS.Timeout | undefined;
  let stream = first;
  let reopenings = 0;
  const canReopen = () => resume !== undefined && reopenings < resume.attempts;

  /** Ends the response as soon as the stream fails, unless another worker can take over. */
  const watch = (watched: BrokerStream) => {
    void endingOf(watched).then(({ failure, workerLost }) => {
      if (failure !== undefined && !(workerLost && canReopen())) readable.destroy(failure);
    });
  };

  async function* chunks(): AsyncGenerator<Buffer> {
    let consumed = 0;
    let sent = 0;
    let pending = early;
    try {
      for (;;) {
        for (let part = pending.shift() ?? (await stream.next()); part !== undefined; ) {
          if (part.part === 'data') {
            // Suspended at this yield only while the response does not pull: the client is not reading.
            stalled = setTimeout(() => {
              readable.destroy(new HttpProblem(408, `the client read nothing for ${stream.idleMs} ms`));
            }, stream.idleMs);
            yield part.body;
            clearTimeout(stalled);
            sent += part.body.length;
            consumed++;
            if (consumed >= refill) {
              await stream.grant(consumed);
              consumed = 0;
            }
          }
          part = pending.shift() ?? (await stream.next());
        }
        const { failure, workerLost } = await endingOf(stream);
        if (failure === undefined || (workerLost && resume?.complete(sent) === true)) return;
        if (!(workerLost && canReopen() && resume !== undefined)) throw failure;
        reopenings++;
        const reopened = await resume.reopen(sent, reopenings);
        stream = reopened.stream;
        pending = reopened.early;
        consumed = 0;
        watch(stream);
      }
    } finally {
      clearTimeout(stalled);
      stream.cancel();
    }
  }
  const readable = Readable.from(chunks(), { objectMode: false, highWaterMark: chunkBytes });
  watch(first);
  return readable;
}
