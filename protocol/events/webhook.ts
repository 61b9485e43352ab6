/**
 * Webhooks as the api and the worker both see them: the id rule, limits, and the shapes the worker
 * answers with (a webhook is never shown with its secret).
 */
import type { EventKind } from './event.ts';

/** 1–64 of letters, digits, `_` and `-`, starting with a letter or digit. */
export const WEBHOOK_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';
const idRe = new RegExp(WEBHOOK_ID_PATTERN);
export const isValidWebhookId = (id: string) => idRe.test(id);
export const WEBHOOK_ID_RULE =
  'a webhook id is 1 to 64 letters, digits, "_" and "-", starting with a letter or digit';

export const MAX_WEBHOOKS_PER_OWNER = 20;
export const MIN_SECRET_LENGTH = 16;
export const MAX_SECRET_LENGTH = 256;
export const MAX_PREFIX_LENGTH = 1024;
/** Outcomes kept per webhook, newest first. */
export const KEPT_OUTCOMES = 20;

/** One delivery attempt, as recorded for the owner to see. */
export interface DeliveryOutcome {
  eventId: string;
  seq: number;
  kind: EventKind;
  attempt: number;
  at: string;
  ok: boolean;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** Why the attempt failed without an HTTP status (timeout, refused address, connection error). */
  error?: string;
  /** When it failed and will be retried: in how long. */
  retryInMs?: number;
  /** When it failed for the last time. */
  gaveUp?: boolean;
}

export interface WebhookView {
  id: string;
  url: string;
  /** Folder the webhook watches; `''` is the whole pod. */
  prefix: string;
  /** Kinds it receives; empty is every kind. */
  kinds: EventKind[];
  createdAt: string;
  updatedAt: string;
  deliveries: DeliveryOutcome[];
}
