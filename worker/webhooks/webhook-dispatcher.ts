/**
 * Event → delivery jobs: for each event of the stream (each handled by one worker), one job per
 * webhook of the owner that wants it. Job message ids are `<event id>.<webhook id>`, so an event
 * dispatched twice (a worker died before its ack) still makes each job once.
 */
import type { JsMsg } from 'nats';
import { decodeEvent, EVENTS_STREAM } from '../../protocol/events/event.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { NatsLink } from '../../runtime/nats-link.ts';
import { ConsumeLoop } from './consume-loop.ts';
import { type DeliveryJob, DISPATCH_CONSUMER, deliverySubject } from './webhook-streams.ts';
import type { WebhooksService } from './webhooks-service.ts';

export function webhookDispatcher(link: NatsLink, webhooks: WebhooksService, logger: Logger): ConsumeLoop {
  const handle = async (message: JsMsg) => {
    let event: ReturnType<typeof decodeEvent>;
    try {
      event = decodeEvent(message.data);
    } catch {
      logger.warn({ seq: message.seq, subject: message.subject }, 'not an event: skipped');
      message.term();
      return;
    }
    const hooks = await webhooks.matching(event);
    const js = link.connection?.jetstream();
    if (js === undefined) throw new Error('NATS is not connected');
    for (const hook of hooks) {
      const job: DeliveryJob = {
        owner: event.owner,
        webhook: hook.id,
        event: { ...event, seq: message.seq },
      };
      await js.publish(deliverySubject(event.owner, hook.id), JSON.stringify(job), {
        msgID: `${event.id}.${hook.id}`,
      });
    }
    message.ack();
  };
  return new ConsumeLoop(
    link,
    { stream: EVENTS_STREAM, durable: DISPATCH_CONSUMER, concurrency: 8, handle },
    logger,
  );
}
