/**
 * File changes → processing jobs. Each file event is copied into its pod's lane (processing-lanes.ts)
 * by the intake, a durable consumer of the event stream shared by every worker; the lanes are taken in
 * turn by every worker (lane-scheduler.ts), so one pod's thousands of uploads do not hold up another
 * pod's previews. Its own capacity: at most `concurrency` jobs per worker, beside (never instead of) the
 * worker's interactive commands.
 *
 * Reliability: a job is acknowledged only after the pipeline finished; a worker killed mid-job leaves it
 * unacknowledged, and JetStream hands it to another worker once `ackWaitMs` passed without the
 * `working` heartbeat the job sends while it runs. A failure that is not the file's fault (the store or
 * NATS away) is retried with backoff; after `maxAttempts` the file is marked failed (`gave_up`) and the
 * job parked (acknowledged). The pipeline is idempotent, so a job run twice is done once in effect.
 */
import type { JsMsg } from 'nats';
import { decodeEvent, EVENTS_STREAM } from '../../protocol/events/event.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { NatsLink } from '../../runtime/nats-link.ts';
import { ConsumeLoop } from '../webhooks/consume-loop.ts';
import { LaneScheduler } from './lane-scheduler.ts';
import {
  jobSubject,
  laneDurable,
  PROCESSING_CONSUMER,
  PROCESSING_LANES,
  PROCESSING_STREAM,
} from './processing-lanes.ts';
import type { ProcessingPipeline, ReconcileResult } from './processing-pipeline.ts';

export { FILE_EVENTS_SUBJECT, PROCESSING_CONSUMER } from './processing-lanes.ts';

export interface ProcessingJobSettings {
  concurrency: number;
  maxAttempts: number;
  ackWaitMs: number;
  retryBaseMs: number;
}

export interface ProcessingJobHooks {
  /** Called when a job ends: its result, or 'retry' / 'gave-up', and how long it ran and waited. */
  onJob?(result: ReconcileResult | 'retry' | 'gave-up', seconds: number, lagSeconds: number): void;
  /** Marks the file failed for good after the last attempt (best effort). */
  giveUp(owner: string, path: string, reason: string): Promise<void>;
}

/** File events copied into the lanes at once, per worker. */
const INTAKE_CONCURRENCY = 32;

/** The delay before attempt `attempt + 1`: base × 4^(attempt-1), at most a minute. */
export const retryDelayMs = (attempt: number, baseMs: number) =>
  Math.min(60_000, baseMs * 4 ** Math.max(0, attempt - 1));

export function processingJobs(
  link: NatsLink,
  pipeline: ProcessingPipeline,
  settings: ProcessingJobSettings,
  hooks: ProcessingJobHooks,
  logger: Logger,
): { start(): void; stop(graceMs: number): Promise<void> } {
  const handle = async (message: JsMsg) => {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    let event: ReturnType<typeof decodeEvent>;
    try {
      event = decodeEvent(message.data);
    } catch {
      logger.warn({ seq: message.seq, subject: message.subject }, 'not an event: skipped');
      message.term();
      return;
    }
    const { owner, path } = event;
    if (path === undefined) {
      message.ack();
      return;
    }
    const lag = Math.max(0, (Date.now() - Date.parse(event.time)) / 1000);
    const attempt = message.info.deliveryCount;
    if (attempt > settings.maxAttempts) {
      // Delivered again and again without an answer: its workers died on it. Park it.
      await hooks.giveUp(owner, path, 'gave_up').catch(() => undefined);
      logger.warn({ owner, path, attempt }, 'processing job parked: its workers stopped on it');
      message.ack();
      hooks.onJob?.('gave-up', seconds(), lag);
      return;
    }
    logger.info({ owner, path, attempt, lagS: lag }, 'processing job started');
    const heartbeat = setInterval(() => message.working(), Math.max(1000, settings.ackWaitMs / 3));
    try {
      const result = await pipeline.reconcile(owner, path, event.incarnation);
      message.ack();
      hooks.onJob?.(result, seconds(), lag);
    } catch (err) {
      if (attempt >= settings.maxAttempts) {
        await hooks.giveUp(owner, path, 'gave_up').catch(() => undefined);
        logger.error({ err, owner, path, attempt }, 'processing job failed for good: parked');
        message.ack();
        hooks.onJob?.('gave-up', seconds(), lag);
      } else {
        logger.warn({ err: (err as Error).message, owner, path, attempt }, 'processing job failed: retrying');
        message.nak(retryDelayMs(attempt, settings.retryBaseMs));
        hooks.onJob?.('retry', seconds(), lag);
      }
    } finally {
      clearInterval(heartbeat);
    }
  };
  // The intake: a file event becomes a job in its pod's lane, once (the event id is the message id, so
  // an event copied again after a lost acknowledgement is stored once).
  const intake = async (message: JsMsg) => {
    const subject = jobSubject(message.subject);
    let id: string;
    try {
      id = decodeEvent(message.data).id;
    } catch {
      id = '';
    }
    if (subject === undefined || id === '') {
      logger.warn({ seq: message.seq, subject: message.subject }, 'not a file event: skipped');
      message.term();
      return;
    }
    const nc = await link.ready();
    await nc.jetstream().publish(subject, message.data, { msgID: id });
    message.ack();
  };
  const intakeLoop = new ConsumeLoop(
    link,
    { stream: EVENTS_STREAM, durable: PROCESSING_CONSUMER, concurrency: INTAKE_CONCURRENCY, handle: intake },
    logger,
  );
  const lanes = new LaneScheduler(
    link,
    {
      stream: PROCESSING_STREAM,
      lanes: PROCESSING_LANES,
      durableOf: laneDurable,
      concurrency: settings.concurrency,
      heartbeatMs: Math.max(1000, settings.ackWaitMs / 3),
      handle,
    },
    logger,
  );
  return {
    start() {
      intakeLoop.start();
      lanes.start();
    },
    async stop(graceMs: number) {
      await Promise.all([intakeLoop.stop(graceMs), lanes.stop(graceMs)]);
    },
  };
}
