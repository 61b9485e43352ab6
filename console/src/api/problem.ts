/**
 * An API refusal as the console shows it: the problem+json `detail` (written for people), its `code`,
 * and the request id to quote to an operator.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly requestId: string | null,
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

interface ProblemBody {
  detail?: unknown;
  title?: unknown;
  code?: unknown;
}

/** Builds the error of a failed answer from its status, its body (problem+json or not) and its headers. */
export function apiErrorOf(status: number, bodyText: string, requestId: string | null): ApiError {
  let body: ProblemBody = {};
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (parsed !== null && typeof parsed === 'object') body = parsed as ProblemBody;
  } catch {
    // not JSON: a proxy's page, say
  }
  const detail =
    typeof body.detail === 'string' && body.detail !== ''
      ? body.detail
      : typeof body.title === 'string'
        ? body.title
        : `the server answered ${status}`;
  const code = typeof body.code === 'string' ? body.code : 'error';
  return new ApiError(status, code, detail, requestId);
}

/** Any thrown value as an ApiError (a network failure has status 0). */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof DOMException && error.name === 'AbortError')
    return new ApiError(0, 'aborted', 'cancelled', null);
  return new ApiError(0, 'network', 'the server could not be reached; check the connection and retry', null);
}
