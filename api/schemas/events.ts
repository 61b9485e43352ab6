/** Schemas of the live events stream (api/routes/events.ts). */
import { EVENT_KINDS } from '../../protocol/events/event.ts';
import { ownerParams } from './common.ts';
import { requestHeaders } from './headers.ts';
import { AUTH_STATUSES, EDGE_STATUSES, problemResponses, WORKER_STATUSES } from './problem.ts';
import { textResponse } from './responses.ts';

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
      200: textResponse(
        'An endless stream: `id: <seq>` and `data: <event JSON>` per event, comments as heartbeats.',
        'text/event-stream',
      ),
      ...problemResponses([...EDGE_STATUSES, ...AUTH_STATUSES, ...WORKER_STATUSES]),
    },
  },
};
