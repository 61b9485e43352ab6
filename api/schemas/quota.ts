/** Schemas of an account's storage quota (api/routes/quota.ts). */
import { isoTime, usernameParams } from './common.ts';
import { AUTH_STATUSES, EDGE_STATUSES, problemResponses, WORKER_STATUSES } from './problem.ts';
import { jsonResponse } from './responses.ts';

const amount = {
  type: 'object',
  required: ['bytes', 'files'],
  properties: { bytes: { type: 'integer', minimum: 0 }, files: { type: 'integer', minimum: 0 } },
} as const;

export const usage = {
  type: 'object',
  required: ['used', 'reserved', 'limits', 'overridden', 'available', 'updatedAt'],
  properties: {
    used: amount,
    reserved: { ...amount, description: 'Held by uploads in flight.' },
    limits: amount,
    overridden: {
      type: 'object',
      required: ['bytes', 'files'],
      properties: { bytes: { type: 'boolean' }, files: { type: 'boolean' } },
      description: "Whether the operator set the account's own limit.",
    },
    available: amount,
    updatedAt: isoTime,
    recountedAt: isoTime,
  },
} as const;

const override = { type: ['integer', 'null'], minimum: 0, description: 'null: the default.' } as const;

export const quotaBody = {
  type: 'object',
  description: "The operator's override of the account's limits.",
  properties: { bytes: override, files: override },
  examples: [{ bytes: 10_737_418_240, files: null }],
} as const;

const tags = ['quota'];
const STATUSES = [...EDGE_STATUSES, ...AUTH_STATUSES, ...WORKER_STATUSES];

export const quotaSchemas = {
  get: {
    operationId: 'getQuota',
    tags,
    summary: "An account's usage and limits (the user, the operator)",
    params: usernameParams,
    response: { 200: jsonResponse('The usage.', usage), ...problemResponses(STATUSES) },
  },
  put: {
    operationId: 'putQuota',
    tags,
    summary: "Set an account's limits (the operator)",
    params: usernameParams,
    body: quotaBody,
    response: {
      200: jsonResponse('The usage under the new limits.', usage),
      ...problemResponses([...STATUSES, 409, 413, 415]),
    },
  },
  recount: {
    operationId: 'recountQuota',
    tags,
    summary: "Count the pod's usage again (the operator)",
    params: usernameParams,
    response: { 200: jsonResponse('The usage as counted.', usage), ...problemResponses([...STATUSES, 409]) },
  },
};
