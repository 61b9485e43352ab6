/**
 * The worker's side of events, wired from its configuration: with NATS_URL, a NATS link that creates
 * the streams, the JetStream publisher, and the webhook dispatcher and deliverer; without it, a
 * publisher that does nothing (said once at start-up). The webhooks service exists either way.
 */

import { NatsError } from 'nats';
import { EVENTS_STREAM, ownerSubjects } from '../../protocol/events/event.ts';
import { type InvalidationKind, Invalidations } from '../../protocol/events/invalidation.ts';
import { ensureStream, eventStreamConfig } from '../../protocol/events/jetstream-setup.ts';
import type { Logger } from '../../runtime/logger.ts';
import { NatsLink } from '../../runtime/nats-link.ts';
import type { WorkerConfig } from '../config.ts';
import type { ProcessingJobHooks, ProcessingJobSettings } from '../processing/processing-jobs.ts';
import { processingJobs } from '../processing/processing-jobs.ts';
import {
  ensureProcessingLanes,
  PROCESSING_STREAM,
  PROCESSING_SUBJECT_ROOT,
  requeueMessage,
} from '../processing/processing-lanes.ts';
import type { ProcessingPipeline } from '../processing/processing-pipeline.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { IncarnationReader, PodWriteGuard } from '../users/incarnation.ts';
import { parseAllowList, WebhookGuard } from '../webhooks/ssrf-guard.ts';
import { webhookDeliverer } from '../webhooks/webhook-deliverer.ts';
import { webhookDispatcher } from '../webhooks/webhook-dispatcher.ts';
import { DELIVERIES_STREAM, ensureWebhookStreams, ownerDeliveries } from '../webhooks/webhook-streams.ts';
import { WebhooksService } from '../webhooks/webhooks-service.ts';
import { type EventPublisher, noEventPublisher } from './event-publisher.ts';
import { incarnationTags } from './incarnation-tags.ts';
import { JetStreamEventPublisher } from './jetstream-publisher.ts';

export interface WorkerEvents {
  publisher: EventPublisher;
  webhooks: WebhooksService;
  /** Tells every api replica and worker to drop what it cached (e.g. a revoked token); no-op without NATS. */
  invalidate(kind: InvalidationKind, owner: string, key?: string): void;
  /**
   * Purges an erased owner's event history and pending webhook deliveries from JetStream; throws while
   * NATS is away (the erasure retries). No-op without NATS.
   */
  forgetOwner(owner: string): Promise<void>;
  /**
   * Asks for a file version's processing job again (its job seems lost), best effort: once per version
   * per duplicate window (processing-lanes.ts requeueMessage). No-op without NATS.
   */
  requeueProcessing(owner: string, path: string, etag: string): void;
  /** Stops the webhook loops, sends what is still queued, closes NATS; within `graceMs` (at most 5 s). */
  stop(graceMs: number): Promise<void>;
}

/** File processing, when this worker runs it: the pipeline and how its jobs run. */
export interface ProcessingWiring {
  pipeline: ProcessingPipeline;
  settings: ProcessingJobSettings;
  hooks: ProcessingJobHooks;
}

export function startWorkerEvents(
  config: WorkerConfig,
  store: ObjectStore,
  logger: Logger,
  processing?: ProcessingWiring,
  /** The worker's one account guard, so that webhook writes share what it remembers and forgets. */
  podWrites: PodWriteGuard = new PodWriteGuard(new IncarnationReader(store), config.erasureSettleMs),
): WorkerEvents {
  const guard = new WebhookGuard(parseAllowList(config.webhookAllowHosts));
  const webhooks = new WebhooksService(store, guard, undefined, podWrites);
  if (config.natsUrl === '') {
    logger.info(
      'events are off: NATS_URL is empty (no change events, no webhook deliveries, no file processing: previews and search answer 503 processing_off)',
    );
    return {
      publisher: noEventPublisher,
      webhooks,
      invalidate: () => {},
      forgetOwner: async () => {},
      requeueProcessing: () => {},
      stop: async () => {},
    };
  }
  const link = new NatsLink({
    url: config.natsUrl,
    name: 'podstore-worker',
    logger,
    onConnect: async (nc) => {
      const jsm = await nc.jetstreamManager();
      await ensureStream(jsm, eventStreamConfig(config.eventsMaxAgeS));
      await ensureWebhookStreams(jsm, {
        maxAgeS: config.eventsMaxAgeS,
        maxAttempts: config.webhookMaxAttempts,
        timeoutMs: config.webhookTimeoutMs,
      });
      if (processing !== undefined)
        await ensureProcessingLanes(jsm, { ...processing.settings, maxAgeS: config.eventsMaxAgeS });
    },
  });
  const publisher = new JetStreamEventPublisher(link, logger, {
    incarnationOf: incarnationTags(podWrites),
    recreateStream: async (nc) => {
      await ensureStream(await nc.jetstreamManager(), eventStreamConfig(config.eventsMaxAgeS));
    },
  });
  const loops: { start(): void; stop(graceMs: number): Promise<void> }[] = [
    webhookDispatcher(link, webhooks, logger),
    webhookDeliverer(
      link,
      webhooks,
      guard,
      {
        timeoutMs: config.webhookTimeoutMs,
        maxAttempts: config.webhookMaxAttempts,
        retryBaseMs: config.webhookRetryBaseMs,
        concurrency: 16,
      },
      logger,
    ),
  ];
  if (processing !== undefined && processing.settings.concurrency > 0) {
    loops.push(processingJobs(link, processing.pipeline, processing.settings, processing.hooks, logger));
  }
  link.start();
  for (const loop of loops) loop.start();
  return {
    publisher,
    webhooks,
    invalidate: (kind, owner, key) => {
      link.ready().then(
        (nc) => new Invalidations(nc, logger).publish(kind, owner, key),
        () => undefined,
      );
    },
    forgetOwner: async (owner) => {
      const nc = link.connection;
      if (nc === undefined || !link.connected) throw new Error('NATS is not reachable');
      const jsm = await nc.jetstreamManager();
      await jsm.streams.purge(EVENTS_STREAM, { filter: ownerSubjects(owner)[0] as string });
      await jsm.streams.purge(DELIVERIES_STREAM, { filter: ownerDeliveries(owner) });
      // The pod's waiting processing jobs (none if no worker ever processed files).
      await jsm.streams
        .purge(PROCESSING_STREAM, { filter: `${PROCESSING_SUBJECT_ROOT}.*.${owner}.>` })
        .catch((err: unknown) => {
          if (!(err instanceof NatsError && err.api_error?.err_code === 10059)) throw err; // stream not found
        });
    },
    requeueProcessing: (owner, path, etag) => {
      const nc = link.connection;
      if (nc === undefined || !link.connected) return;
      const { subject, data, msgID } = requeueMessage(owner, path, etag);
      nc.jetstream()
        .publish(subject, data, { msgID })
        .then(
          (ack) => {
            if (!ack.duplicate) logger.info({ owner, path, etag }, 'processing job asked for again');
          },
          (err: unknown) => logger.warn({ err: (err as Error).message, owner, path }, 'requeue failed'),
        );
    },
    stop: async (graceMs) => {
      const budget = Math.min(graceMs, 5000);
      await Promise.all(loops.map((loop) => loop.stop(budget / 2)));
      const left = await publisher.flush(budget / 2);
      if (left > 0) logger.warn({ events: left }, 'events not published before stopping');
      await link.close();
    },
  };
}
