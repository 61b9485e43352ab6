/**
 * Delivery jobs → HTTP: POSTs the event as JSON, signed with the webhook's secret and the time of the
 * attempt (signature.ts), to the webhook's current URL after checking it again against the SSRF guard.
 * A 2xx answer acknowledges the job;
 * anything else is retried after a growing delay (`nak` with delay) until the attempts run out.
 * Every attempt's outcome is recorded for the owner to see.
 */
import type { JsMsg } from 'nats';
import type { DeliveryOutcome } from '../../protocol/events/webhook.ts';
import type { Logger } from '../../runtime/logger.ts';
import type { NatsLink } from '../../runtime/nats-link.ts';
import { ConsumeLoop } from './consume-loop.ts';
import { postWebhook } from './post-webhook.ts';
import { retryDelayMs } from './retry-delay.ts';
import { signedHeaders } from './signature.ts';
import type { WebhookGuard } from './ssrf-guard.ts';
import { DELIVER_CONSUMER, DELIVERIES_STREAM, type DeliveryJob } from './webhook-streams.ts';
import { type WebhooksService, wants } from './webhooks-service.ts';

export interface DelivererSettings {
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  concurrency: number;
}

export function webhookDeliverer(
  link: NatsLink,
  webhooks: WebhooksService,
  guard: WebhookGuard,
  settings: DelivererSettings,
  logger: Logger,
): ConsumeLoop {
  const handle = async (message: JsMsg) => {
    const job = JSON.parse(message.string()) as DeliveryJob;
    const { event } = job;
    const attempt = message.info.deliveryCount;
    const hook = await webhooks.read(job.owner, job.webhook);
    if (hook === undefined || !wants(hook, event)) {
      message.ack(); // deleted, no longer interested, or another account's webhook of the same name
      return;
    }
    const body = Buffer.from(JSON.stringify(event));
    const url = new URL(hook.url);
    const verdict = await guard.check(url);
    const result = verdict.ok
      ? await postWebhook(
          url,
          verdict.pinned,
          body,
          {
            'content-type': 'application/json',
            'user-agent': 'podstore-webhooks/1',
            ...signedHeaders(hook.secret, body),
            'x-podstore-event-id': event.id,
            'x-podstore-event-seq': String(event.seq),
            'x-podstore-event-kind': event.kind,
            'x-podstore-webhook-id': hook.id,
            'x-podstore-delivery-attempt': String(attempt),
          },
          settings.timeoutMs,
        )
      : { error: verdict.reason };
    const ok = result.status !== undefined && result.status >= 200 && result.status < 300;
    const outcome: DeliveryOutcome = {
      eventId: event.id,
      seq: event.seq,
      kind: event.kind,
      attempt,
      at: new Date().toISOString(),
      ok,
      ...(result.status === undefined ? {} : { status: result.status }),
      ...(result.error === undefined ? {} : { error: result.error }),
    };
    if (ok) message.ack();
    else if (attempt >= settings.maxAttempts) {
      outcome.gaveUp = true;
      message.term('webhook delivery attempts exhausted');
    } else {
      outcome.retryInMs = retryDelayMs(attempt, settings.retryBaseMs);
      message.nak(outcome.retryInMs);
    }
    const log = { owner: job.owner, webhook: hook.id, eventId: event.id, attempt, status: result.status };
    if (ok) logger.debug(log, 'webhook delivered');
    else
      logger.info(
        { ...log, error: result.error, gaveUp: outcome.gaveUp === true },
        'webhook delivery failed',
      );
    await webhooks.recordOutcome(hook, outcome).catch((err: unknown) => {
      logger.warn({ err: (err as Error).message, webhook: hook.id }, 'could not record a delivery outcome');
    });
  };
  return new ConsumeLoop(
    link,
    { stream: DELIVERIES_STREAM, durable: DELIVER_CONSUMER, concurrency: settings.concurrency, handle },
    logger,
  );
}
