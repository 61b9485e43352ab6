/** Schemas of the search of a pod (api/routes/search.ts). */
import { MAX_QUERY_CHARS, MAX_QUERY_TERMS, MAX_SEARCH_LIMIT } from '../../protocol/search.ts';
import { isoTime, ownerParams } from './common.ts';
import { AUTH_STATUSES, EDGE_STATUSES, problemResponses, WORKER_STATUSES } from './problem.ts';
import { jsonResponse } from './responses.ts';

const snippet = {
  type: ['object', 'null'],
  required: ['field', 'text', 'highlights'],
  description:
    "A piece of the hit's own text (or metadata field) around the matched words; null when none can be shown. Show `text` as text: `highlights` are offsets into it (UTF-16 code units, end exclusive), never markup.",
  properties: {
    field: { type: 'string', enum: ['text', 'name', 'description', 'tags'] },
    text: { type: 'string' },
    highlights: {
      type: 'array',
      items: {
        type: 'object',
        required: ['start', 'end'],
        properties: { start: { type: 'integer', minimum: 0 }, end: { type: 'integer', minimum: 0 } },
      },
    },
  },
} as const;

const hit = {
  type: 'object',
  required: ['path', 'name', 'score', 'snippet', 'contentType', 'size', 'updatedAt', 'etag', 'author'],
  properties: {
    path: { type: 'string', description: "The file's path in the pod, without a leading slash." },
    name: { type: 'string' },
    score: { type: 'number', description: 'Higher is better; comparable only within one answer.' },
    snippet,
    contentType: { type: 'string' },
    size: { type: 'integer', minimum: 0 },
    updatedAt: isoTime,
    etag: { type: 'string' },
    author: { type: ['string', 'null'] },
  },
} as const;

export const searchAnswer = {
  type: 'object',
  required: ['items'],
  properties: { items: { type: 'array', items: hit, maxItems: MAX_SEARCH_LIMIT } },
} as const;

export const searchQuery = {
  type: 'object',
  required: ['q'],
  properties: {
    q: {
      type: 'string',
      description: `The words to find: at most ${MAX_QUERY_CHARS} characters and ${MAX_QUERY_TERMS} words; punctuation only separates words. Words of 3 characters or more also match as prefixes, of 5 or more also with one typo.`,
      examples: ['lab result'],
    },
    limit: {
      type: 'string',
      pattern: '^[0-9]+$',
      description: `Hits at most: a whole number from 1 to ${MAX_SEARCH_LIMIT} (20 when absent).`,
      examples: ['20'],
    },
  },
} as const;

export const searchSchemas = {
  query: {
    operationId: 'searchPod',
    tags: ['search'],
    summary: 'Search a pod: the owner all of it, a grantee what it may read',
    params: ownerParams,
    querystring: searchQuery,
    response: {
      200: jsonResponse('The hits, best first.', searchAnswer),
      ...problemResponses([...EDGE_STATUSES, ...AUTH_STATUSES, ...WORKER_STATUSES], {
        403: 'The caller may read nothing in this pod.',
      }),
    },
  },
};
