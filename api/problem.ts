/**
 * RFC 9457 problem details: the one shape of every error the api sends, and the mapping from worker and
 * broker error codes to HTTP statuses.
 */
import type { FastifyReply } from 'fastify';
import { BrokerError } from '../protocol/frames.ts';
import { ErrorCode, type ErrorCodeValue, type OutcomeError } from '../protocol/outcome.ts';
import { codeOfStatus, PROBLEM_CODES, type ProblemCode, problemTypeUri } from '../protocol/problem-types.ts';
import type { BrokerCallError } from './broker-client.ts';
import { BASELINE_SECURITY_HEADERS } from './security-headers.ts';

export const PROBLEM_TYPE = 'application/problem+json';

export interface Problem {
  /** `urn:podstore:problem:<code>` (protocol/problem-types.ts). */
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The problem type's name: what a client branches on. */
  code: ProblemCode;
  /** Extension members of a type defined elsewhere (the resumable-upload draft's expected-offset...). */
  [member: string]: unknown;
}

/**
 * A problem type defined by another document than podstore's (the IETF resumable-upload draft's IANA
 * types): its URI replaces `type`, its extension members are added; `code` stays podstore's.
 */
export interface ForeignProblemType {
  type: string;
  members?: Record<string, number | string>;
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  422: 'Unprocessable Content',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  507: 'Insufficient Storage',
};

/**
 * The status a refusal raised by fastify itself (or a library under it) is answered with: its own when
 * a problem type stands for it, else 400. A problem's `code` and `status` always agree.
 */
export function refusalStatus(status: number | undefined): number {
  if (status === undefined || status < 400 || status >= 500) return 400;
  return codeOfStatus(status) !== 'invalid' || status === 400 ? status : 400;
}

export function problem(
  status: number,
  detail: string,
  code: ProblemCode = codeOfStatus(status),
  foreign?: ForeignProblemType,
): Problem {
  return {
    type: foreign?.type ?? problemTypeUri(code),
    title: titles[status] ?? 'Error',
    status,
    detail,
    code,
    ...foreign?.members,
  };
}

/** An error that route handlers throw to answer with a problem; the error handler renders it. */
export class HttpProblem extends Error {
  override name = 'HttpProblem';
  readonly code: ProblemCode;
  constructor(
    readonly status: number,
    detail: string,
    readonly retryAfter?: number,
    /** Extra response headers (e.g. WWW-Authenticate on a 401). */
    readonly headers: Record<string, string> = {},
    /** The problem type, when the status alone does not say it (default: the status's usual code). */
    code?: ProblemCode,
    /** A type URI of another document, with its members (api/uploads/draft-headers.ts). */
    readonly foreign?: ForeignProblemType,
  ) {
    super(detail);
    this.code = code ?? codeOfStatus(status);
  }
}

/**
 * A 429 refused because the caller was over a bound outside this api's own limits (the broker's
 * per-caller queue bound: `reason` `queue`); the error handler counts it in
 * `podstore_api_throttled_total{reason}` like the api's own refusals.
 */
export class ThrottledProblem extends HttpProblem {
  override name = 'ThrottledProblem';
  constructor(
    readonly reason: string,
    detail: string,
    retryAfter: number,
  ) {
    super(429, detail, retryAfter);
  }
}

export function sendProblem(
  reply: FastifyReply,
  status: number,
  detail: string,
  retryAfter?: number,
  code?: ProblemCode,
  foreign?: ForeignProblemType,
) {
  // Every problem carries its request id, whichever path refused the request (some run before onRequest).
  reply.header('x-request-id', reply.request.id).headers(BASELINE_SECURITY_HEADERS);
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return reply
    .code(status)
    .type(PROBLEM_TYPE)
    .send(problem(status, detail, code, foreign));
}

/** A worker's error code: the HTTP status and problem type it is answered with. */
const answerOfCode: Record<ErrorCodeValue, [number, ProblemCode]> = {
  [ErrorCode.INVALID]: [400, 'invalid'],
  [ErrorCode.NOT_FOUND]: [404, 'not_found'],
  [ErrorCode.CONFLICT]: [409, 'conflict'],
  [ErrorCode.PRECONDITION_FAILED]: [412, 'precondition_failed'],
  [ErrorCode.UNPROCESSABLE]: [422, 'unprocessable'],
  [ErrorCode.FORBIDDEN]: [403, 'forbidden'],
  [ErrorCode.UNKNOWN_COMMAND]: [503, 'unavailable'],
  [ErrorCode.STORAGE_UNAVAILABLE]: [503, 'storage_unavailable'],
  [ErrorCode.TIMEOUT]: [504, 'timeout'],
  [ErrorCode.TOO_LARGE]: [413, 'too_large'],
  [ErrorCode.QUOTA_EXCEEDED]: [507, 'quota_exceeded'],
  [ErrorCode.ABORTED]: [400, 'aborted'],
  [ErrorCode.RANGE_NOT_SATISFIABLE]: [416, 'range_not_satisfiable'],
  [ErrorCode.CHECKSUM_MISMATCH]: [460, 'checksum_mismatch'],
  [ErrorCode.NO_PREVIEW]: [415, 'no_preview'],
  [ErrorCode.PROCESSING_OFF]: [503, 'processing_off'],
  [ErrorCode.INTERNAL]: [500, 'internal'],
};

/** A worker's error outcome as an HttpProblem. */
export function fromOutcomeError(error: OutcomeError): HttpProblem {
  const [status, code] = answerOfCode[error.code] ?? [500, 'internal'];
  return new HttpProblem(
    status,
    error.detail,
    error.retryAfterS ?? (status === 503 && PROBLEM_CODES[code].retryable ? 1 : undefined),
    {},
    code,
  );
}

/** A failed broker call as an HttpProblem: overload and outages are 503 with Retry-After, lateness 504. */
export function fromBrokerError(err: BrokerCallError): HttpProblem {
  switch (err.code) {
    case BrokerError.OVERLOADED:
      return new HttpProblem(503, 'every worker is busy; retry shortly', 1);
    case BrokerError.NO_WORKER:
      return new HttpProblem(503, 'no worker is serving this request right now', 2);
    case BrokerError.WORKER_LOST:
      return new HttpProblem(503, 'the worker handling this request went away', 1);
    case 'unavailable':
      return new HttpProblem(503, 'the broker is unavailable', 2);
    case BrokerError.TIMEOUT:
    case 'no_reply':
      return new HttpProblem(504, 'no answer within the deadline');
    case BrokerError.THROTTLED:
      return new ThrottledProblem(
        'queue',
        'too many of your requests are waiting for a worker; retry shortly',
        1,
      );
    case BrokerError.CANCELLED:
      return new HttpProblem(400, 'the request was cancelled', undefined, {}, 'aborted');
    case BrokerError.MALFORMED:
      return new HttpProblem(500, 'the broker could not route the request');
  }
}
