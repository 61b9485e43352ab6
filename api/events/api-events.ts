/**
 * The api's side of events, wired from its configuration: with NATS_URL, a NATS link (which creates
 * the event stream if missing), live event subscriptions for the events endpoint, and the
 * invalidation subscription; without it, nothing (said once at start-up).
 */

import { INVALIDATION_KINDS, Invalidations } from '../../protocol/events/invalidation.ts';
import { ensureStream, eventStreamConfig } from '../../protocol/events/jetstream-setup.ts';
import type { Logger } from '../../runtime/logger.ts';
import { NatsLink } from '../../runtime/nats-link.ts';
import { LiveEvents } from './live-events.ts';

export interface ApiEvents {
  live: LiveEvents;
  /** Set once connected to NATS (the permissions work registers its cache handlers here). */
  invalidations: Promise<Invalidations>;
  close(): Promise<void>;
}

export function startApiEvents(
  config: { natsUrl: string; eventsMaxAgeS: number },
  logger: Logger,
): ApiEvents | undefined {
  if (config.natsUrl === '') {
    logger.info('events are off: NATS_URL is empty (the events and webhooks endpoints answer 503)');
    return undefined;
  }
  const link = new NatsLink({
    url: config.natsUrl,
    name: 'podstore-api',
    logger,
    onConnect: async (nc) => {
      await ensureStream(await nc.jetstreamManager(), eventStreamConfig(config.eventsMaxAgeS));
    },
  });
  link.start();
  const invalidations = link.ready().then((nc) => {
    const subscription = new Invalidations(nc, logger);
    subscription.start();
    for (const kind of INVALIDATION_KINDS) {
      subscription.on(kind, (message) => logger.debug({ invalidation: message }, 'invalidation received'));
    }
    return subscription;
  });
  return {
    live: new LiveEvents(link, logger),
    invalidations,
    close: () => link.close(),
  };
}
