/** Schemas of a user's access tokens (api/routes/tokens.ts). */
import { isoTime, isoTimeOrNull, username } from './common.ts';
import { AUTH_STATUSES, EDGE_STATUSES, problemResponses, WORKER_STATUSES } from './problem.ts';
import { emptyResponse, jsonResponse } from './responses.ts';

const tokenInfoProperties = {
  id: { type: 'string' },
  label: { type: 'string' },
  createdAt: isoTime,
  expiresAt: isoTimeOrNull,
  lastUsedAt: isoTimeOrNull,
} as const;

export const tokenInfo = {
  type: 'object',
  required: ['id', 'label', 'createdAt', 'expiresAt', 'lastUsedAt'],
  properties: tokenInfoProperties,
} as const;

export const issuedToken = {
  type: 'object',
  required: [...tokenInfo.required, 'token'],
  properties: {
    ...tokenInfoProperties,
    token: {
      type: 'string',
      description: 'The secret, shown this once.',
      examples: ['pst_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG'],
    },
  },
} as const;

export const issueBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    label: { type: 'string', maxLength: 200, examples: ['laptop'] },
    expiresAt: isoTimeOrNull,
  },
} as const;

const params = { type: 'object', required: ['username'], properties: { username } } as const;
const tokenParams = {
  type: 'object',
  required: ['username', 'id'],
  properties: { username, id: { type: 'string', maxLength: 64 } },
} as const;

const tags = ['accounts'];
const STATUSES = [...EDGE_STATUSES, ...AUTH_STATUSES, ...WORKER_STATUSES];

export const tokensSchemas = {
  issue: {
    operationId: 'issueToken',
    tags,
    summary: 'Issue a token (its secret is shown once)',
    params,
    body: issueBody,
    response: {
      201: jsonResponse('Issued.', issuedToken),
      ...problemResponses([...STATUSES, 409, 413, 415]),
    },
  },
  list: {
    operationId: 'listTokens',
    tags,
    summary: "A user's tokens, without their secrets",
    params,
    response: {
      200: jsonResponse('The tokens.', {
        type: 'object',
        required: ['tokens'],
        properties: { tokens: { type: 'array', items: tokenInfo } },
      }),
      ...problemResponses(STATUSES),
    },
  },
  revoke: {
    operationId: 'revokeToken',
    tags,
    summary: 'Revoke a token, at once',
    params: tokenParams,
    response: { 204: emptyResponse('Revoked.'), ...problemResponses(STATUSES) },
  },
};
