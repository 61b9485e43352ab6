/** Schemas of grants and the audit log (api/routes/grants.ts). */
import { MODES } from '../../protocol/grant-modes.ts';
import { isoTime, ownerParams, pageQuery, username } from './common.ts';
import { AUTH_STATUSES, EDGE_STATUSES, problemResponses, WORKER_STATUSES } from './problem.ts';
import { emptyResponse, jsonResponse } from './responses.ts';

/** At most this many scopes in one grant (worker/access/grants-service.ts refuses more). */
const MAX_SCOPES = 64;

const scope = {
  type: 'string',
  pattern: '^/(?:[^/\\u0000-\\u001f]+/)*$',
  description: 'A folder of the pod: starts and ends with "/" ("/" is the whole pod).',
  examples: ['/medical/'],
} as const;

const modes = {
  type: 'array',
  items: { type: 'string', enum: [...MODES] },
  description:
    'read, append (add new files only), write, delete, control (grant what it holds). None removes the scope.',
  examples: [['append']],
} as const;

const budget = {
  type: 'integer',
  minimum: 0,
  description: 'With append or write: a bound on what the grantee adds.',
} as const;

const entryProperties = {
  scope,
  modes,
  expiresAt: { ...isoTime, description: 'When the scope stops counting (in the future).' },
  maxBytes: budget,
  maxFiles: budget,
} as const;

const entryRequest = { type: 'object', required: ['modes', 'scope'], properties: entryProperties } as const;

export const grantBody = {
  type: 'object',
  description: 'One scope (`{modes, scope, expiresAt?}`), or every scope at once (`{scopes: [...]}`).',
  properties: {
    ...entryProperties,
    scopes: { type: 'array', maxItems: MAX_SCOPES, items: entryRequest },
  },
  anyOf: [{ required: ['scopes'] }, { required: ['modes', 'scope'] }],
  examples: [{ modes: ['append'], scope: '/medical/', expiresAt: '2027-06-30T00:00:00Z' }],
} as const;

const entry = {
  type: 'object',
  required: ['scope', 'modes'],
  properties: { ...entryProperties, expiresAt: isoTime },
} as const;

const storedEntry = {
  type: 'object',
  required: ['scope', 'modes', 'grantedBy', 'grantedAt'],
  properties: {
    ...entry.properties,
    grantedBy: { type: 'string', description: 'The owner, or the control holder that made it.' },
    grantedAt: isoTime,
    delegatorGrant: { type: 'string', description: "The delegator's grant it was made under." },
  },
} as const;

export const grantView = {
  type: 'object',
  required: ['grantee', 'entries', 'effective', 'updatedAt'],
  properties: {
    grantee: username,
    entries: { type: 'array', items: storedEntry, description: 'The stored scopes that have not expired.' },
    effective: {
      type: 'array',
      items: { ...storedEntry, required: entry.required },
      description:
        'What the grantee holds now: its entries, delegated ones clipped to what their delegators hold.',
    },
    updatedAt: isoTime,
  },
} as const;

export const auditEntry = {
  type: 'object',
  required: ['time', 'actor', 'action', 'outcome'],
  properties: {
    time: isoTime,
    actor: { type: ['string', 'null'] },
    action: { type: 'string', examples: ['files.put'] },
    path: { type: 'string' },
    outcome: { type: 'string', description: '`allowed`, or the problem code the request ended with.' },
    requestId: { type: 'string' },
    count: { type: 'integer', minimum: 1, description: 'A summary of refused requests: how many.' },
    firstTime: isoTime,
  },
} as const;

const grantParams = {
  type: 'object',
  required: ['owner', 'grantee'],
  properties: { ...ownerParams.properties, grantee: username },
} as const;

const tags = ['grants'];
const STATUSES = [...EDGE_STATUSES, ...AUTH_STATUSES, ...WORKER_STATUSES];

export const grantsSchemas = {
  put: {
    operationId: 'putGrant',
    tags,
    summary: "Set one scope of a grantee's grant, or replace them all",
    params: grantParams,
    body: grantBody,
    response: {
      200: jsonResponse('The grant as it is now.', grantView),
      ...problemResponses([...STATUSES, 409, 413, 415]),
    },
  },
  get: {
    operationId: 'getGrant',
    tags,
    summary: 'One grant (the owner, a control holder within its scopes, or the grantee)',
    params: grantParams,
    response: { 200: jsonResponse('The grant.', grantView), ...problemResponses(STATUSES) },
  },
  list: {
    operationId: 'listGrants',
    tags,
    summary: 'Every grant of the pod (the owner)',
    params: ownerParams,
    response: {
      200: jsonResponse('The grants.', {
        type: 'object',
        required: ['grants'],
        properties: { grants: { type: 'array', items: grantView } },
      }),
      ...problemResponses(STATUSES),
    },
  },
  delete: {
    operationId: 'deleteGrant',
    tags,
    summary: "Revoke a grantee's grant",
    params: grantParams,
    response: { 204: emptyResponse('Revoked.'), ...problemResponses([...STATUSES, 409]) },
  },
  audit: {
    operationId: 'listAudit',
    tags: ['audit'],
    summary: 'The audit log of the pod, newest first (the owner)',
    params: ownerParams,
    querystring: pageQuery,
    response: {
      200: jsonResponse('A page of entries.', {
        type: 'object',
        required: ['entries', 'next'],
        properties: { entries: { type: 'array', items: auditEntry }, next: { type: ['string', 'null'] } },
      }),
      ...problemResponses(STATUSES),
    },
  },
};
