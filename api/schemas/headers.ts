/**
 * Request and response headers as JSON schemas, shared by the routes. Request header schemas only
 * describe: the routes check the values themselves (api/etag.ts, api/files/idempotency-key.ts), with
 * their own error details, so nothing here refuses a header the route would accept.
 */

/** Every answer carries it (the client's own sane id, or a fresh UUID). */
export const REQUEST_ID_HEADER = {
  'x-request-id': {
    type: 'string',
    description: 'The request id, also in the logs of the api, the broker and the worker.',
  },
} as const;

const text = (description: string, examples: string[]) =>
  ({ type: 'string', description, examples }) as const;

export const ifMatch = text('Act only on this version (a list of entity tags, or `*`).', [
  '"5d41402abc4b2a76b9719d911017c592"',
]);
export const ifNoneMatch = text('`*`: create only; a list of entity tags: 304 when one matches (reads).', [
  '*',
]);
export const ifModifiedSince = text('An HTTP date: 304 when the file is not newer.', [
  'Tue, 01 Dec 2026 10:00:00 GMT',
]);
export const ifUnmodifiedSince = text('An HTTP date: 412 when the file is newer.', [
  'Tue, 01 Dec 2026 10:00:00 GMT',
]);

/** Request headers as a fastify `headers` schema (lower-case names). */
export function requestHeaders(properties: Record<string, object>) {
  return { type: 'object', properties } as const;
}

export const conditionalRead = {
  'if-match': ifMatch,
  'if-none-match': ifNoneMatch,
  'if-modified-since': ifModifiedSince,
  'if-unmodified-since': ifUnmodifiedSince,
};
export const conditionalWrite = {
  'if-match': ifMatch,
  'if-none-match': ifNoneMatch,
  'if-unmodified-since': ifUnmodifiedSince,
};
