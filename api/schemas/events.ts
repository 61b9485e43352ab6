/** Schemas of the live events stream (api/routes/events.ts). */
import { EVENT_KINDS } from '../../protocol/events/event.ts';
import { isoTime, ownerParams } from './common.ts';
import { REQUEST_ID_HEADER, requestHeaders } from './headers.ts';
import { AUTH_STATUSES, EDGE_STATUSES, problemResponses, WORKER_STATUSES } from './problem.ts';
import { header } from './responses.ts';

/** One change of the pod (protocol/events/event.ts), as the `data` of an event. */
export const podEvent = {
  type: 'object',
  required: ['id', 'time', 'kind', 'owner', 'actor', 'seq'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    time: isoTime,
    kind: { type: 'string', enum: [...EVENT_KINDS] },
    owner: { type: 'string' },
    incarnation: { type: 'string', description: "The owner's account the change was made in." },
    actor: { type: ['string', 'null'], description: 'Who made the change (null: the system).' },
    path: { type: 'string', description: 'For file events.' },
    etag: { type: 'string', description: 'The new version; absent when deleted.' },
    seq: { type: 'integer', minimum: 1, description: 'Its position: the SSE id, where to resume.' },
  },
} as const;

/** A Server-Sent Event of the stream: `id: <seq>` and `data: <event JSON>` (heartbeats are comments). */
const sseEvent = {
  type: 'object',
  required: ['data'],
  properties: {
    id: { type: 'string', pattern: '^[0-9]+$' },
    event: { type: 'string' },
    retry: { type: 'integer' },
    data: { type: 'string', contentMediaType: 'application/json', contentSchema: podEvent },
  },
} as const;

export const eventsSchemas = {
  stream: {
    operationId: 'streamEvents',
    tags: ['events'],
    summary: "The pod's change events as Server-Sent Events (needs NATS; 503 without)",
    params: ownerParams,
    querystring: {
      type: 'object',
      properties: {
        prefix: {
          type: 'string',
          maxLength: 1024,
          description: 'Only under this folder.',
          examples: ['medical/'],
        },
        kinds: {
          type: 'string',
          maxLength: 1024,
          description: `A comma list of ${EVENT_KINDS.join(', ')}.`,
          examples: ['file.created,file.deleted'],
        },
        lastEventId: {
          type: 'string',
          maxLength: 32,
          description: 'Resume after this event (as Last-Event-ID).',
        },
      },
    },
    headers: requestHeaders({
      'last-event-id': { type: 'string', description: 'Resume right after this event.', examples: ['42'] },
    }),
    response: {
      200: {
        description: 'An endless stream of Server-Sent Events, one per change; comments as heartbeats.',
        headers: { ...REQUEST_ID_HEADER, 'cache-control': header('no-cache, no-transform') },
        content: { 'text/event-stream': { schema: sseEvent } },
      },
      ...problemResponses([...EDGE_STATUSES, ...AUTH_STATUSES, ...WORKER_STATUSES]),
    },
  },
};
