/**
 * Where processing jobs wait: not in one queue, where a pod that uploads ten thousand files would put
 * every other pod's previews behind them, but in PROCESSING_LANES lanes. A pod's jobs always go to the
 * same lane, picked by a hash of its name; each worker takes the lanes in turn (lane-scheduler.ts).
 *
 *   PODSTORE_EVENTS  podstore.events.<owner>.file.<what>
 *        │  intake: the durable consumer `podstore-processing` (shared by the workers) copies each file
 *        ▼  event, once (its event id is the message id), and acknowledges it
 *   PODSTORE_PROCESSING  podstore.processing.<lane>.<owner>.file.<what>   (work queue: a job is removed
 *        │  once acknowledged)
 *        ▼  one durable consumer per lane, `podstore-processing-<lane>`, shared by the workers
 *   the pipeline
 *
 * Pure: names, subjects and the JetStream settings; the loops are in processing-jobs.ts.
 */
import { createHash } from 'node:crypto';
import { AckPolicy, DeliverPolicy, type JetStreamManager, nanos, RetentionPolicy } from 'nats';
import {
  EVENT_SUBJECT_ROOT,
  EVENTS_STREAM,
  encodeEvent,
  type PodEvent,
} from '../../protocol/events/event.ts';
import { ensureDurableConsumer, ensureStream, limitsStream } from '../../protocol/events/jetstream-setup.ts';

/**
 * How many lanes. Fixed, not configured: jobs already waiting stay in the lane they were put in, so the
 * count cannot change under a running deployment. Two pods share a lane with odds of 1 in 16.
 */
export const PROCESSING_LANES = 16;
export const PROCESSING_STREAM = 'PODSTORE_PROCESSING';
export const PROCESSING_SUBJECT_ROOT = 'podstore.processing';
/** The intake: a durable consumer of every file event of every pod. */
export const PROCESSING_CONSUMER = 'podstore-processing';
/** Every file event of every pod: `podstore.events.<owner>.file.<what>`. */
export const FILE_EVENTS_SUBJECT = `${EVENT_SUBJECT_ROOT}.*.file.>`;

export const laneDurable = (lane: number) => `${PROCESSING_CONSUMER}-${lane}`;

/** The pod's lane: FNV-1a (32 bits) of its name, modulo the lanes. */
export function laneOf(owner: string, lanes = PROCESSING_LANES): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(owner, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % lanes;
}

/**
 * The job's subject for a file event's subject: `podstore.events.<owner>.file.<what>` →
 * `podstore.processing.<lane>.<owner>.file.<what>`; undefined for any other subject.
 */
export function jobSubject(eventSubject: string): string | undefined {
  const prefix = `${EVENT_SUBJECT_ROOT}.`;
  if (!eventSubject.startsWith(prefix)) return undefined;
  const rest = eventSubject.slice(prefix.length);
  const owner = rest.slice(0, rest.indexOf('.'));
  if (owner === '' || !rest.startsWith(`${owner}.file.`)) return undefined;
  return `${PROCESSING_SUBJECT_ROOT}.${laneOf(owner)}.${rest}`;
}

export interface LaneSettings {
  maxAttempts: number;
  ackWaitMs: number;
  /** How long a job may wait in its lane (the event stream's own retention). */
  maxAgeS: number;
}

/** The lanes' stream, the intake consumer and one consumer per lane; idempotent. */
export async function ensureProcessingLanes(jsm: JetStreamManager, settings: LaneSettings): Promise<void> {
  await ensureStream(
    jsm,
    limitsStream(
      PROCESSING_STREAM,
      [`${PROCESSING_SUBJECT_ROOT}.>`],
      settings.maxAgeS,
      RetentionPolicy.Workqueue,
    ),
  );
  await ensureDurableConsumer(jsm, EVENTS_STREAM, {
    durable_name: PROCESSING_CONSUMER,
    description: 'file events into the processing lanes (one lane per pod, by a hash of its name)',
    filter_subject: FILE_EVENTS_SUBJECT,
    deliver_policy: DeliverPolicy.New,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(30_000),
    max_deliver: -1, // copying fails only while NATS does: never give up on a job
    max_ack_pending: 10_000,
  });
  for (let lane = 0; lane < PROCESSING_LANES; lane++) {
    await ensureDurableConsumer(jsm, PROCESSING_STREAM, {
      durable_name: laneDurable(lane),
      description: `processes changed files of the pods in lane ${lane}: previews, text, the search index`,
      filter_subject: `${PROCESSING_SUBJECT_ROOT}.${lane}.>`,
      deliver_policy: DeliverPolicy.All,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(settings.ackWaitMs),
      // Room beyond the attempts the handler counts, so the handler (not the server) parks the job.
      max_deliver: settings.maxAttempts + 2,
      max_ack_pending: 1000,
    });
  }
}

/** Jobs not yet done: file events not yet copied into a lane, and jobs waiting or running in the lanes. */
export async function processingBacklog(jsm: JetStreamManager): Promise<number> {
  const pending = async (stream: string, durable: string) => {
    const info = await jsm.consumers.info(stream, durable).catch(() => undefined);
    return info === undefined ? 0 : info.num_pending + info.num_ack_pending;
  };
  let total = await pending(EVENTS_STREAM, PROCESSING_CONSUMER);
  for (let lane = 0; lane < PROCESSING_LANES; lane++)
    total += await pending(PROCESSING_STREAM, laneDurable(lane));
  return total;
}

/**
 * A job asked for again for one version of a file whose job seems lost (its event never published, or
 * published before processing existed): the message to put in the pod's lane. Its id names the version,
 * so the stream stores it once per duplicate window however often it is asked for.
 */
export function requeueMessage(
  owner: string,
  path: string,
  etag: string,
  now = new Date(),
): { subject: string; data: Uint8Array; msgID: string } {
  const msgID = `requeue-${createHash('sha256').update(`${owner}\n${path}\n${etag}`).digest('hex').slice(0, 32)}`;
  const event: PodEvent = {
    id: msgID,
    time: now.toISOString(),
    kind: 'file.updated',
    owner,
    actor: null,
    path,
    etag,
  };
  return {
    subject: `${PROCESSING_SUBJECT_ROOT}.${laneOf(owner)}.${owner}.file.updated`,
    data: encodeEvent(event),
    msgID,
  };
}
