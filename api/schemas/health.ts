/** Schemas of liveness, readiness and metrics (api/routes/health.ts): no token needed. */
import { NO_TOKEN } from './common.ts';
import { problemResponses } from './problem.ts';

/** Operational routes are not limited per caller (no 429) and need no token. */
const STATUSES = [400, 408, 414, 431, 500, 503];

import { jsonResponse, textResponse } from './responses.ts';

const tags = ['operations'];

export const healthSchemas = {
  healthz: {
    operationId: 'getHealthz',
    tags,
    summary: 'Liveness: the process runs',
    security: NO_TOKEN,
    response: { 200: textResponse('ALIVE <hostname>', 'text/plain'), ...problemResponses(STATUSES) },
  },
  readyz: {
    operationId: 'getReadyz',
    tags,
    summary: 'Readiness: the broker answers, a worker serves users, the object store answers',
    security: NO_TOKEN,
    response: {
      200: jsonResponse('Ready.', {
        type: 'object',
        required: ['status', 'workers'],
        properties: { status: { type: 'string', enum: ['ready'] }, workers: { type: 'integer', minimum: 1 } },
      }),
      ...problemResponses(STATUSES, { 503: 'Not ready: no broker, no worker, or no storage' }),
    },
  },
  metrics: {
    operationId: 'getMetrics',
    tags,
    summary: "The api's Prometheus metrics",
    security: NO_TOKEN,
    response: {
      200: textResponse('Prometheus text format.', 'text/plain'),
      ...problemResponses(STATUSES),
    },
  },
};
