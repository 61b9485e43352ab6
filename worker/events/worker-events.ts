/**
 * The worker's side of events, wired from its configuration: with NATS_URL, a NATS link that creates
 * the streams, the JetStream publisher, and the webhook dispatcher and deliverer; without it, a
 * publisher that does nothing (said once at start-up). The webhooks service exists either way.
 */

import { type InvalidationKind, Invalidations } from '../../protocol/events/invalidation.ts';
import { ensureStream, eventStreamConfig } from '../../protocol/events/jetstream-setup.ts';
import { NatsLink } from '../../protocol/events/nats-link.ts';
import type { Logger } from '../../protocol/process/logger.ts';
import type { WorkerConfig } from '../config.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { parseAllowList, WebhookGuard } from '../webhooks/ssrf-guard.ts';
import { webhookDeliverer } from '../webhooks/webhook-deliverer.ts';
import { webhookDispatcher } from '../webhooks/webhook-dispatcher.ts';
import { ensureWebhookStreams } from '../webhooks/webhook-streams.ts';
import { WebhooksService } from '../webhooks/webhooks-service.ts';
import { type EventPublisher, noEventPublisher } from './event-publisher.ts';
import { JetStreamEventPublisher } from './jetstream-publisher.ts';

export interface WorkerEvents {
  publisher: EventPublisher;
  webhooks: WebhooksService;
  /** Tells every api replica and worker to drop what it cached (e.g. a revoked token); no-op without NATS. */
  invalidate(kind: InvalidationKind, owner: string, key?: string): void;
  /** Stops the webhook loops, sends what is still queued, closes NATS; within `graceMs` (at most 5 s). */
  stop(graceMs: number): Promise<void>;
}

export function startWorkerEvents(config: WorkerConfig, store: ObjectStore, logger: Logger): WorkerEvents {
  const guard = new WebhookGuard(parseAllowList(config.webhookAllowHosts));
  const webhooks = new WebhooksService(store, guard);
  if (config.natsUrl === '') {
    logger.info('events are off: NATS_URL is empty (no change events, no webhook deliveries)');
    return { publisher: noEventPublisher, webhooks, invalidate: () => {}, stop: async () => {} };
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
    },
  });
  const publisher = new JetStreamEventPublisher(link, logger, {
    recreateStream: async (nc) => {
      await ensureStream(await nc.jetstreamManager(), eventStreamConfig(config.eventsMaxAgeS));
    },
  });
  const loops = [
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
    stop: async (graceMs) => {
      const budget = Math.min(graceMs, 5000);
      await Promise.all(loops.map((loop) => loop.stop(budget / 2)));
      const left = await publisher.flush(budget / 2);
      if (left > 0) logger.warn({ events: left }, 'events not published before stopping');
      await link.close();
    },
  };
}
