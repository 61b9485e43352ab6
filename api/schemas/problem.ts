/**
 * The problem+json answer (RFC 9457) as a shared schema: every route lists the statuses it may refuse
 * with, each answered by this document, whose `code` is one of protocol/problem-types.ts.
 */
import { PROBLEM_CODES, type ProblemCode } from '../../protocol/problem-types.ts';
import { PROBLEM_TYPE, problem } from '../problem.ts';
import { DRAFT_PROBLEM_TYPES } from '../uploads/draft-headers.ts';
import { REQUEST_ID_HEADER } from './headers.ts';

export const PROBLEM_SCHEMA_ID = 'Problem';

const codes = Object.keys(PROBLEM_CODES) as ProblemCode[];

export const problemSchema = {
  $id: PROBLEM_SCHEMA_ID,
  type: 'object',
  description:
    'An RFC 9457 problem document. Branch on `code` (or `type`, the same name as a URN), not on `detail`.',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: {
      type: 'string',
      description:
        "podstore's own type (`urn:podstore:problem:<code>`), or, on the resumable upload draft's routes, one of the types it registers with IANA.",
      enum: [...codes.map((code) => `urn:podstore:problem:${code}`), ...DRAFT_PROBLEM_TYPES],
    },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string', description: 'For people; may change between versions.' },
    code: {
      type: 'string',
      enum: codes,
      description: codes
        .map((code) => `\`${code}\` (${PROBLEM_CODES[code].status}): ${PROBLEM_CODES[code].meaning}`)
        .join('; '),
    },
    'expected-offset': {
      type: 'integer',
      minimum: 0,
      description: 'mismatching-upload-offset (resumable upload draft): where the upload stands.',
    },
    'provided-offset': {
      type: 'integer',
      minimum: 0,
      description: 'mismatching-upload-offset (resumable upload draft): the Upload-Offset sent.',
    },
  },
  examples: [problem(404, 'no file medical/lab.pdf in the pod of patient')],
} as const;

/** The problem codes an answer of `status` may carry. */
export function codesOfStatus(status: number): ProblemCode[] {
  return codes.filter(
    (code) => PROBLEM_CODES[code].status === status || (status === 500 && code === 'error'),
  );
}

const RETRY_AFTER = {
  type: 'string',
  pattern: '^[0-9]+$',
  description: 'Seconds to wait before trying again (when the server knows).',
} as const;

/** The response entry of one refusal status: a problem document, with the codes it may carry. */
export function problemResponse(status: number, when?: string) {
  const listed = codesOfStatus(status);
  const codesText = listed.length > 0 ? listed.map((c) => `\`${c}\``).join(', ') : '`error`';
  return {
    description: `${when ?? PROBLEM_CODES[listed[0] ?? 'error'].meaning} (problem ${codesText})`,
    headers: {
      ...REQUEST_ID_HEADER,
      ...(status === 429 || status === 503 || status === 409 ? { 'retry-after': RETRY_AFTER } : {}),
      ...(status === 401 ? { 'www-authenticate': { type: 'string', description: 'Bearer' } } : {}),
    },
    content: { [PROBLEM_TYPE]: { schema: { $ref: `${PROBLEM_SCHEMA_ID}#` } } },
  };
}

/** Statuses any request may be answered with, whatever its route. */
export const EDGE_STATUSES = [400, 408, 414, 429, 431, 500, 503] as const;
/** What a route that needs a token adds. */
export const AUTH_STATUSES = [401] as const;
/** What a route answered by a worker adds (refused, missing, late). */
export const WORKER_STATUSES = [403, 404, 503, 504] as const;

/** Problem entries for every status listed (duplicates collapse); `when` overrides a status's text. */
export function problemResponses(statuses: readonly number[], when: Record<number, string> = {}) {
  const out: Record<number, ReturnType<typeof problemResponse>> = {};
  for (const status of [...new Set(statuses)].sort()) out[status] = problemResponse(status, when[status]);
  return out;
}
