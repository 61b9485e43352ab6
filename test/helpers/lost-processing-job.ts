/**
 * Loses a file's processing job for real, as a NATS that lost its consumers would: waits until the
 * file's event sits in the processing intake (no worker of the stack processes yet), drops the intake
 * (it comes back for new events only), then adds a worker that processes files and waits for it.
 */
import { connect } from 'nats';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { EVENTS_STREAM } from '../../protocol/events/event.ts';
import { PROCESSING_CONSUMER } from '../../worker/processing/processing-lanes.ts';
import { waitFor } from './chaos.ts';

export async function loseJobThenAddProcessingWorker(stack: LocalStack, natsUrl: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  const jsm = await nc.jetstreamManager();
  await waitFor('the event in the intake', async () =>
    (await jsm.consumers.info(EVENTS_STREAM, PROCESSING_CONSUMER)).num_pending === 1 ? true : undefined,
  );
  await jsm.consumers.delete(EVENTS_STREAM, PROCESSING_CONSUMER);
  await nc.close();
  stack.options.env.PROCESSING_CONCURRENCY = '1';
  stack.addWorker();
  await stack.waitReady(stack.workers.length, 30_000);
}
