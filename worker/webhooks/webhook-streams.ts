/**
 * The JetStream set-up behind webhooks. A durable consumer of the event stream, shared by all workers,
 * turns each event into one delivery job per matching webhook, on a work-queue stream; a second
 * durable consumer runs the jobs, so each (event, webhook) pair is retried on its own.
 */
import { AckPolicy, DeliverPolicy, type JetStreamManager, nanos, RetentionPolicy } from 'nats';
import { ALL_EVENTS_SUBJECT, EVENTS_STREAM, type SequencedEvent } from '../../protocol/events/event.ts';
import { ensureDurableConsumer, ensureStream, limitsStream } from '../../protocol/events/jetstream-setup.ts';

export const DELIVERIES_STREAM = 'PODSTORE_WEBHOOK_DELIVERIES';
const DELIVERIES_ROOT = 'podstore.webhook-deliveries';
export const DISPATCH_CONSUMER = 'podstore-webhook-dispatch';
export const DELIVER_CONSUMER = 'podstore-webhook-deliver';

/** A delivery job: this event, to this webhook. */
export interface DeliveryJob {
  owner: string;
  webhook: string;
  event: SequencedEvent;
}

export const deliverySubject = (owner: string, webhook: string) => `${DELIVERIES_ROOT}.${owner}.${webhook}`;
/** Every delivery job of one owner's webhooks. */
export const ownerDeliveries = (owner: string) => `${DELIVERIES_ROOT}.${owner}.>`;

export interface WebhookStreamSettings {
  maxAgeS: number;
  maxAttempts: number;
  timeoutMs: number;
}

export async function ensureWebhookStreams(
  jsm: JetStreamManager,
  settings: WebhookStreamSettings,
): Promise<void> {
  await ensureStream(
    jsm,
    limitsStream(DELIVERIES_STREAM, [`${DELIVERIES_ROOT}.>`], settings.maxAgeS, RetentionPolicy.Workqueue),
  );
  await ensureDurableConsumer(jsm, EVENTS_STREAM, {
    durable_name: DISPATCH_CONSUMER,
    description: 'turns events into webhook delivery jobs',
    filter_subject: ALL_EVENTS_SUBJECT,
    deliver_policy: DeliverPolicy.New,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(30_000),
    max_deliver: 20,
    max_ack_pending: 1000,
  });
  await ensureDurableConsumer(jsm, DELIVERIES_STREAM, {
    durable_name: DELIVER_CONSUMER,
    description: 'delivers events to webhooks',
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(settings.timeoutMs + 30_000),
    max_deliver: settings.maxAttempts,
    max_ack_pending: 10_000,
  });
}
