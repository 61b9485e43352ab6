/** Schemas of liveness, readiness and metrics (api/routes/health.ts): no token needed. */
import { NO_TOKEN } from './common.ts';
import { EDGE_STATUSES, problemResponses } from './problem.ts';
import { jsonResponse, textResponse } from './responses.ts';

const tags = ['operations'];

export const healthSchemas = {
  healthz: {
    tags,
    summary: 'Liveness: the process runs',
    security: NO_TOKEN,
    response: { 200: textResponse('ALIVE <hostname>', 'text/plain'), ...problemResponses([400, 503]) },
  },
  readyz: {
    tags,
    summary: 'Readiness: the broker answers, a worker serves users, the object store answers',
    security: NO_TOKEN,
    response: {
      200: jsonResponse('Ready.', {
        type: 'object',
        required: ['status', 'workers'],
        properties: { status: { type: 'string', enum: ['ready'] }, workers: { type: 'integer', minimum: 1 } },
      }),
      ...problemResponses(EDGE_STATUSES, { 503: 'Not ready: no broker, no worker, or no storage' }),
    },
  },
  metrics: {
    tags,
    summary: "The api's Prometheus metrics",
    security: NO_TOKEN,
    response: {
      200: textResponse('Prometheus text format.', 'text/plain'),
      ...problemResponses([400, 503]),
    },
  },
};
