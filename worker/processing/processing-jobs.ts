/**
 * File changes → processing jobs. A durable consumer of the event stream, shared by every worker (each
 * file event goes to one of them), runs the pipeline for the event's file. Its own capacity: at most
 * `concurrency` jobs per worker, beside (never instead of) the worker's interactive commands.
 *
 * Reliability: a job is acknowledged only after the pipeline finished; a worker killed mid-job leaves it
 * unacknowledged, and JetStream hands it to another worker once `ackWaitMs` passed without the
 * `working` heartbeat the job sends while it runs. A failure that is not the file's fault (the store or
 * NATS away) is retried with backoff; after `maxAttempts` the file is marked failed (`gave_up`) and the
 * job parked (acknowledged). The pipeline is idempotent, so a job run twice is done once in effect.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager, type JsMsg, nanos } from 'nats';
import { decodeEvent, EVENT_SUBJECT_ROOT, EVENTS_STREAM } from '../../protocol/events/event.ts';
import { ensureDurableConsumer } from '../../protocol/events/jetstream-setup.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { NatsLink } from '../../runtime/nats-link.ts';
import { ConsumeLoop } from '../webhooks/consume-loop.ts';
import type { ProcessingPipeline, ReconcileResult } from './processing-pipeline.ts';

export const PROCESSING_CONSUMER = 'podstore-processing';
/** Every file event of every pod: `podstore.events.<owner>.file.<what>`. */
export const FILE_EVENTS_SUBJECT = `${EVENT_SUBJECT_ROOT}.*.file.>`;

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

export async function ensureProcessingConsumer(
  jsm: JetStreamManager,
  settings: ProcessingJobSettings,
): Promise<void> {
  await ensureDurableConsumer(jsm, EVENTS_STREAM, {
    durable_name: PROCESSING_CONSUMER,
    description: 'processes changed files: previews, text, the search index',
    filter_subject: FILE_EVENTS_SUBJECT,
    deliver_policy: DeliverPolicy.New,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(settings.ackWaitMs),
    // Room beyond the attempts the handler counts, so the handler (not the server) parks the job.
    max_deliver: settings.maxAttempts + 2,
    max_ack_pending: 10_000,
  });
}

/** The delay before attempt `attempt + 1`: base × 4^(attempt-1), at most a minute. */
export const retryDelayMs = (attempt: number, baseMs: number) =>
  Math.min(60_000, baseMs * 4 ** Math.max(0, attempt - 1));

export function processingJobs(
  link: NatsLink,
  pipeline: ProcessingPipeline,
  settings: ProcessingJobSettings,
  hooks: ProcessingJobHooks,
  logger: Logger,
): ConsumeLoop {
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
  return new ConsumeLoop(
    link,
    { stream: EVENTS_STREAM, durable: PROCESSING_CONSUMER, concurrency: settings.concurrency, handle },
    logger,
  );
}
