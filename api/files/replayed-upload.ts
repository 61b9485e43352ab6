/**
 * An upload that outlives its worker: when the worker handling it dies before answering, the broker
 * says `worker_lost`, and if the body is still in hand (ReplayableBody, at most UPLOAD_REPLAY_BYTES) it
 * is sent again, to another worker. Only for requests that may run twice: PUT, and POST with an
 * Idempotency-Key. Such a POST may find its key still held by the dead worker's lease (409 with a
 * retry time): the upload waits that long and asks again, as a client would, within `maxWaitMs`.
 */
import { isWorkerLost } from '../broker-client.ts';
import type { BrokerStream } from './broker-stream.ts';
import type { ReplayableBody } from './replayable-body.ts';
import { pumpUpload, type UploadOptions } from './upload.ts';

export interface ReplayOptions extends UploadOptions {
  /** Sends after lost workers, the first included (waits for a held key are bounded by maxWaitMs only). */
  maxAttempts: number;
  /** Longest total wait for a key held by a dead worker's lease. */
  maxWaitMs: number;
  onReplay?: (reason: 'worker_lost' | 'key_held', attempt: number) => void;
}

/** The stream that settled the upload (its result is the answer) and whether the whole body was sent. */
export async function uploadWithReplay(
  open: () => BrokerStream,
  body: ReplayableBody,
  options: ReplayOptions,
): Promise<{ stream: BrokerStream; complete: boolean }> {
  let waited = 0;
  let lost = 0;
  for (let attempt = 1; ; attempt++) {
    const stream = open();
    const complete = await pumpUpload(stream, body.reader(), options);
    if (!body.replayable) return { stream, complete };
    const settled = await stream.result.then(
      (outcome) => ({ outcome }),
      (error: unknown) => ({ error }),
    );
    if ('error' in settled) {
      if (!isWorkerLost(settled.error) || ++lost >= options.maxAttempts) return { stream, complete };
      options.onReplay?.('worker_lost', attempt);
      continue;
    }
    const { outcome } = settled;
    // A first attempt's 409 is another request holding the key: that is the client's answer. After a
    // lost worker, the holder is most likely the dead worker itself, whose lease runs out shortly.
    const heldKey =
      attempt > 1 && !outcome.ok && outcome.error.code === 'conflict' ? outcome.error.retryAfterS : undefined;
    if (heldKey === undefined || waited + heldKey * 1000 > options.maxWaitMs) return { stream, complete };
    waited += heldKey * 1000;
    options.onReplay?.('key_held', attempt);
    await new Promise((resolve) => setTimeout(resolve, heldKey * 1000));
  }
}
