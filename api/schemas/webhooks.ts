/** Schemas of an owner's webhooks (api/routes/webhooks.ts). */
import { EVENT_KINDS } from '../../protocol/events/event.ts';
import {
  MAX_PREFIX_LENGTH,
  MAX_SECRET_LENGTH,
  MIN_SECRET_LENGTH,
  WEBHOOK_ID_PATTERN,
} from '../../protocol/events/webhook.ts';
import { isoTime, ownerParams } from './common.ts';
import { AUTH_STATUSES, EDGE_STATUSES, problemResponses, WORKER_STATUSES } from './problem.ts';
import { emptyResponse, header, jsonResponse } from './responses.ts';

const eventKind = { type: 'string', enum: [...EVENT_KINDS] } as const;

export const hookParams = {
  type: 'object',
  required: ['owner', 'id'],
  properties: {
    ...ownerParams.properties,
    id: { type: 'string', pattern: WEBHOOK_ID_PATTERN, examples: ['inbox'] },
  },
} as const;

export const hookBody = {
  type: 'object',
  required: ['url', 'secret'],
  properties: {
    url: {
      type: 'string',
      minLength: 1,
      maxLength: 2048,
      description:
        'Where to POST; loopback and private addresses are refused unless WEBHOOK_ALLOW_HOSTS allows them.',
      examples: ['https://hooks.example.com/podstore'],
    },
    secret: {
      type: 'string',
      minLength: MIN_SECRET_LENGTH,
      maxLength: MAX_SECRET_LENGTH,
      description:
        'Signs each delivery (X-Podstore-Signature: sha256=HMAC of "<timestamp>.<body>"); never shown again.',
    },
    prefix: {
      type: 'string',
      maxLength: MAX_PREFIX_LENGTH,
      description: 'A folder to watch ("" the whole pod).',
    },
    kinds: {
      type: 'array',
      maxItems: EVENT_KINDS.length,
      items: eventKind,
      description: 'None: every kind.',
    },
  },
} as const;

const delivery = {
  type: 'object',
  required: ['eventId', 'seq', 'kind', 'attempt', 'at', 'ok'],
  properties: {
    eventId: { type: 'string' },
    seq: { type: 'integer' },
    kind: eventKind,
    attempt: { type: 'integer' },
    at: isoTime,
    ok: { type: 'boolean' },
    status: { type: 'integer' },
    error: { type: 'string' },
    retryInMs: { type: 'integer' },
    gaveUp: { type: 'boolean' },
  },
} as const;

export const webhookView = {
  type: 'object',
  description: 'A webhook, never with its secret, and its last delivery outcomes, newest first.',
  required: ['id', 'url', 'prefix', 'kinds', 'createdAt', 'updatedAt', 'deliveries'],
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    prefix: { type: 'string' },
    kinds: { type: 'array', items: eventKind },
    createdAt: isoTime,
    updatedAt: isoTime,
    deliveries: { type: 'array', items: delivery },
  },
} as const;

const tags = ['events'];
/** Without NATS, every webhook route answers 503. */
const STATUSES = [...EDGE_STATUSES, ...AUTH_STATUSES, ...WORKER_STATUSES];

export const webhooksSchemas = {
  put: {
    operationId: 'putWebhook',
    tags,
    summary: 'Register or replace a webhook',
    params: hookParams,
    body: hookBody,
    response: {
      200: jsonResponse('Replaced.', webhookView),
      201: jsonResponse('Registered.', webhookView, { location: header('The webhook.') }),
      ...problemResponses([...STATUSES, 409, 413, 415, 422]),
    },
  },
  list: {
    operationId: 'listWebhooks',
    tags,
    summary: "The owner's webhooks",
    params: ownerParams,
    response: {
      200: jsonResponse('The webhooks.', {
        type: 'object',
        required: ['items'],
        properties: { items: { type: 'array', items: webhookView } },
      }),
      ...problemResponses(STATUSES),
    },
  },
  get: {
    operationId: 'getWebhook',
    tags,
    summary: 'One webhook with its last delivery outcomes',
    params: hookParams,
    response: { 200: jsonResponse('The webhook.', webhookView), ...problemResponses(STATUSES) },
  },
  delete: {
    operationId: 'deleteWebhook',
    tags,
    summary: 'Remove a webhook',
    params: hookParams,
    response: { 204: emptyResponse('Removed.'), ...problemResponses(STATUSES) },
  },
};
