/**
 * A download as the api passes it on: data parts from the worker become a byte stream for the HTTP
 * response, and each part the response takes is paid back to the worker as credit. When the client
 * reads slowly the response stops pulling, no credit goes out and the worker stops reading the store:
 * memory per download stays at about the credit window. A client that goes away cancels the transfer.
 *
 * A transfer always ends: when the worker's side fails (worker lost, storage error, broker gone) the
 * response is destroyed at once, even if its client is not reading; and a client that reads nothing for
 * the stream's idle time is cut off (the worker is told to stop). The errors are HttpProblems, so a
 * failure before the headers went out is still answered with the right status (503, 504), never 500.
 */
import { Readable } from 'node:stream';
import type { Outcome } from '../../protocol/outcome.ts';
import { BrokerCallError } from '../broker-client.ts';
import { fromBrokerError, fromOutcomeError, HttpProblem } from '../problem.ts';
import type { BrokerStream, WorkerPart } from './broker-stream.ts';

/** The error a failed transfer ends with, or undefined when it succeeded. */
function failureOf(settled: { outcome: Outcome } | { error: unknown }): Error | undefined {
  if ('outcome' in settled) return settled.outcome.ok ? undefined : fromOutcomeError(settled.outcome.error);
  const { error } = settled;
  if (error instanceof BrokerCallError) return fromBrokerError(error);
  return error instanceof Error ? error : new Error(String(error));
}

const settle = (stream: BrokerStream) =>
  stream.result.then(
    (outcome) => failureOf({ outcome }),
    (error: unknown) => failureOf({ error }),
  );

/** `early`: data parts already read from the stream (by startDownload), sent first. */
export function downloadBody(
  stream: BrokerStream,
  window: number,
  chunkBytes: number,
  early: WorkerPart[] = [],
): Readable {
  const refill = Math.max(1, Math.floor(window / 2));
  let stalled: NodeJS.Timeout | undefined;
  const parts = async function* () {
    yield* early;
    for (let part = await stream.next(); part !== undefined; part = await stream.next()) yield part;
  };
  async function* chunks(): AsyncGenerator<Buffer> {
    let consumed = 0;
    try {
      for await (const part of parts()) {
        if (part.part !== 'data') continue;
        // Suspended at this yield only while the response does not pull: the client is not reading.
        stalled = setTimeout(() => {
          readable.destroy(new HttpProblem(408, `the client read nothing for ${stream.idleMs} ms`));
        }, stream.idleMs);
        yield part.body;
        clearTimeout(stalled);
        consumed++;
        if (consumed >= refill) {
          await stream.grant(consumed);
          consumed = 0;
        }
      }
      const failure = await settle(stream);
      if (failure !== undefined) throw failure;
    } finally {
      clearTimeout(stalled);
      stream.cancel();
    }
  }
  const readable = Readable.from(chunks(), { objectMode: false, highWaterMark: chunkBytes });
  void settle(stream).then((failure) => {
    if (failure !== undefined) readable.destroy(failure);
  });
  return readable;
}
