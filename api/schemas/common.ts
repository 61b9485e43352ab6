/** Parameters several routes share: account names, pages. */
import { USERNAME_PATTERN } from '../../protocol/names.ts';

export const username = {
  type: 'string',
  pattern: USERNAME_PATTERN,
  description: '2 to 63 lower-case letters, digits and "-", starting and ending with a letter or digit.',
  examples: ['patient'],
} as const;

export const usernameParams = {
  type: 'object',
  required: ['username'],
  properties: { username },
} as const;

export const ownerParams = {
  type: 'object',
  required: ['owner'],
  properties: { owner: { ...username, description: "The pod's owner." } },
} as const;

/** Query values are text (the api does not coerce types): a whole number from 1 to 1000. */
export const pageLimit = {
  type: 'string',
  pattern: '^[0-9]+$',
  description: 'Entries per page: a whole number from 1 to 1000.',
  examples: ['100'],
} as const;

/** `?cursor=&limit=`. */
export const pageQuery = {
  type: 'object',
  properties: {
    cursor: { type: 'string', description: 'The `next` of the previous page.' },
    limit: pageLimit,
  },
} as const;

export const isoTime = {
  type: 'string',
  format: 'date-time',
  examples: ['2026-11-30T12:00:00.000Z'],
} as const;
export const isoTimeOrNull = { type: ['string', 'null'], format: 'date-time' } as const;

/** Security requirements of the routes that differ from the document's default (a bearer token). */
export const NO_TOKEN: Record<string, string[]>[] = [];
/** Sign-up: without a token (or the operator's); with one, the account's own. */
export const TOKEN_OPTIONAL: Record<string, string[]>[] = [{}, { bearer: [] }];
