/**
 * RFC 9457 problem details: the one shape of every error the api sends, and the mapping from worker and
 * broker error codes to HTTP statuses.
 */
import type { FastifyReply } from 'fastify';
import { BrokerError } from '../protocol/frames.ts';
import { ErrorCode, type ErrorCodeValue, type OutcomeError } from '../protocol/outcome.ts';
import type { BrokerCallError } from './broker-client.ts';
import { BASELINE_SECURITY_HEADERS } from './security-headers.ts';

export const PROBLEM_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
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

export function problem(status: number, detail: string): Problem {
  return { type: 'about:blank', title: titles[status] ?? 'Error', status, detail };
}

/** An error that route handlers throw to answer with a problem; the error handler renders it. */
export class HttpProblem extends Error {
  override name = 'HttpProblem';
  constructor(
    readonly status: number,
    detail: string,
    readonly retryAfter?: number,
    /** Extra response headers (e.g. WWW-Authenticate on a 401). */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
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

export function sendProblem(reply: FastifyReply, status: number, detail: string, retryAfter?: number) {
  // Every problem carries its request id, whichever path refused the request (some run before onRequest).
  reply.header('x-request-id', reply.request.id).headers(BASELINE_SECURITY_HEADERS);
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return reply.code(status).type(PROBLEM_TYPE).send(problem(status, detail));
}

const statusOfCode: Record<ErrorCodeValue, number> = {
  [ErrorCode.INVALID]: 400,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.PRECONDITION_FAILED]: 412,
  [ErrorCode.UNPROCESSABLE]: 422,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.UNKNOWN_COMMAND]: 503,
  [ErrorCode.STORAGE_UNAVAILABLE]: 503,
  [ErrorCode.TIMEOUT]: 504,
  [ErrorCode.TOO_LARGE]: 413,
  [ErrorCode.QUOTA_EXCEEDED]: 507,
  [ErrorCode.ABORTED]: 400,
  [ErrorCode.RANGE_NOT_SATISFIABLE]: 416,
  [ErrorCode.INTERNAL]: 500,
};

/** A worker's error outcome as an HttpProblem. */
export function fromOutcomeError(error: OutcomeError): HttpProblem {
  const status = statusOfCode[error.code];
  return new HttpProblem(status, error.detail, error.retryAfterS ?? (status === 503 ? 1 : undefined));
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
      return new HttpProblem(400, 'the request was cancelled');
    case BrokerError.MALFORMED:
      return new HttpProblem(500, 'the broker could not route the request');
  }
}
