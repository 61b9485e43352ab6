/** Building blocks of route response schemas: a JSON answer, an answer without a body, a text answer. */
import { REQUEST_ID_HEADER } from './headers.ts';

/** Response headers: each a JSON schema with its description (as @fastify/swagger reads them). */
type Headers = Record<string, object>;

export function jsonResponse(description: string, schema: object, headers: Headers = {}) {
  return {
    description,
    headers: { ...REQUEST_ID_HEADER, ...headers },
    content: { 'application/json': { schema } },
  };
}

/** 204, 304, HEAD answers. */
export function emptyResponse(description: string, headers: Headers = {}) {
  return { description, headers: { ...REQUEST_ID_HEADER, ...headers }, type: 'null' } as const;
}

export function textResponse(description: string, mediaType: string, headers: Headers = {}) {
  return {
    description,
    headers: { ...REQUEST_ID_HEADER, ...headers },
    content: { [mediaType]: { schema: { type: 'string' } } },
  };
}

export const header = (description: string, schema: object = { type: 'string' }) => ({
  ...schema,
  description,
});
