/** Schemas of the users resource (api/routes/users.ts): profiles, sign-up, account erasure. */
import { MAX_PROFILE_BYTES } from '../../protocol/names.ts';
import { isoTime, isoTimeOrNull, NO_TOKEN, TOKEN_OPTIONAL, usernameParams } from './common.ts';
import { ifMatch, ifNoneMatch, requestHeaders } from './headers.ts';
import { AUTH_STATUSES, EDGE_STATUSES, problemResponses, WORKER_STATUSES } from './problem.ts';
import { emptyResponse, header, jsonResponse } from './responses.ts';

export const profile = {
  type: 'object',
  additionalProperties: true,
  description: `Any JSON object of at most ${MAX_PROFILE_BYTES / 1024} KiB.`,
  examples: [{ firstName: 'Pat', lastName: 'Doe' }],
} as const;

export const accountKind = { type: 'string', enum: ['person', 'organization'] } as const;

export const signUpAnswer = {
  type: 'object',
  required: ['username', 'kind', 'profile', 'token', 'tokenId'],
  properties: {
    username: { type: 'string' },
    kind: accountKind,
    profile,
    token: {
      type: 'string',
      description: "The account's first token, shown this once.",
      examples: ['pst_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG'],
    },
    tokenId: { type: 'string' },
  },
} as const;

export const erasureStatus = {
  type: 'object',
  required: ['id', 'state', 'requestedAt', 'completedAt', 'objectsRemoved'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    state: { type: 'string', enum: ['erasing', 'done'] },
    requestedAt: isoTime,
    completedAt: isoTimeOrNull,
    objectsRemoved: { type: 'integer', minimum: 0 },
  },
} as const;

export const profileHeaders = {
  etag: header('The profile version.'),
  'last-modified': header('When the profile last changed.'),
  'x-podstore-account-kind': header('`person` or `organization`.', accountKind),
};

const ERASURE_ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

const userWriteHeaders = requestHeaders({
  'if-match': ifMatch,
  'if-none-match': { ...ifNoneMatch, description: '`*`: create only (412 if the user exists).' },
});

const tags = ['accounts'];

/** The route schemas of api/routes/users.ts. */
export const usersSchemas = {
  put: {
    operationId: 'putUser',
    tags,
    summary: 'Sign up (201, with the first token), or replace your profile (200)',
    security: TOKEN_OPTIONAL,
    params: usernameParams,
    querystring: {
      type: 'object',
      properties: { kind: { ...accountKind, description: 'At sign-up: the account kind (default person).' } },
    },
    headers: userWriteHeaders,
    body: profile,
    response: {
      200: jsonResponse('The profile was replaced.', profile, profileHeaders),
      201: jsonResponse('The account was created, with its first token.', signUpAnswer, {
        location: header('The account.'),
        etag: header('The profile version.'),
      }),
      ...problemResponses([...EDGE_STATUSES, ...AUTH_STATUSES, ...WORKER_STATUSES, 409, 412, 413, 415], {
        409: 'The username is taken, or still held by an account being erased',
      }),
    },
  },
  get: {
    operationId: 'getUser',
    tags,
    summary: 'Read your profile',
    params: usernameParams,
    headers: requestHeaders({ 'if-none-match': ifNoneMatch }),
    response: {
      200: jsonResponse('The profile.', profile, profileHeaders),
      304: emptyResponse('The profile is the version named by If-None-Match.', {
        etag: header('The version.'),
      }),
      ...problemResponses([...EDGE_STATUSES, ...AUTH_STATUSES, ...WORKER_STATUSES]),
    },
  },
  patch: {
    operationId: 'patchUser',
    tags,
    summary: 'Merge a JSON merge patch into your profile',
    params: usernameParams,
    headers: requestHeaders({ 'if-match': ifMatch }),
    body: profile,
    response: {
      200: jsonResponse('The profile after the patch.', profile, profileHeaders),
      ...problemResponses([...EDGE_STATUSES, ...AUTH_STATUSES, ...WORKER_STATUSES, 409, 412, 413, 415]),
    },
  },
  delete: {
    operationId: 'deleteUser',
    tags,
    summary: 'Delete your account, its tokens and its whole pod',
    params: usernameParams,
    headers: requestHeaders({ 'if-match': ifMatch }),
    response: {
      202: jsonResponse('The account is gone; its erasure goes on (status at Location).', erasureStatus, {
        location: header('The erasure status: /v1/erasures/{id}.'),
        'retry-after': header('Seconds before asking again.'),
      }),
      204: emptyResponse('Erased: nothing is left, the name is free again.'),
      ...problemResponses([...EDGE_STATUSES, ...AUTH_STATUSES, ...WORKER_STATUSES, 409, 412]),
    },
  },
  erasure: {
    operationId: 'getErasure',
    tags,
    summary: 'The status of an account erasure (no token needed)',
    security: NO_TOKEN,
    params: {
      type: 'object',
      required: ['id'],
      properties: { id: { type: 'string', pattern: ERASURE_ID_PATTERN } },
    },
    response: {
      200: jsonResponse('The erasure status.', erasureStatus),
      ...problemResponses([...EDGE_STATUSES, 404, 504]),
    },
  },
};
