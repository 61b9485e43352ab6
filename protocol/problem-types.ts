/**
 * The problem types of podstore's HTTP API: every error answer is an RFC 9457 problem document whose
 * `type` is one of these URIs and whose `code` extension member is the same name, so a client branches
 * on a stable identifier rather than on a status or a sentence. `retryable` says whether sending the
 * same request again later may succeed (it comes with Retry-After when the server knows when).
 * Reference: docs/api.md#errors.
 */

export const PROBLEM_TYPE_PREFIX = 'urn:podstore:problem:';

interface ProblemEntry {
  status: number;
  retryable: boolean;
  /** Only ever given by name, never the code a bare status stands for (codeOfStatus). */
  named?: true;
  meaning: string;
}

/** Every problem code, its usual status, and whether a retry may help. */
export const PROBLEM_CODES = {
  invalid: { status: 400, retryable: false, meaning: 'the request is malformed or an argument is invalid' },
  unauthenticated: { status: 401, retryable: false, meaning: 'no valid bearer token' },
  forbidden: { status: 403, retryable: false, meaning: 'the caller may not do this' },
  not_found: { status: 404, retryable: false, meaning: 'no such user, file, grant or route' },
  method_not_allowed: { status: 405, retryable: false, meaning: 'the method is not served on this path' },
  not_acceptable: { status: 406, retryable: false, meaning: 'no representation matches Accept' },
  request_timeout: { status: 408, retryable: true, meaning: 'the request (or reading it) took too long' },
  conflict: { status: 409, retryable: false, meaning: 'the request conflicts with the current state' },
  precondition_failed: {
    status: 412,
    retryable: false,
    meaning: 'If-Match / If-None-Match / If-Unmodified-Since did not hold',
  },
  too_large: { status: 413, retryable: false, meaning: 'the body is over a limit' },
  unsupported_media_type: { status: 415, retryable: false, meaning: 'the Content-Type is not accepted here' },
  uri_too_long: { status: 414, retryable: false, meaning: 'a path segment or the URL is too long' },
  range_not_satisfiable: { status: 416, retryable: false, meaning: 'the Range asks for no byte of the file' },
  expectation_failed: { status: 417, retryable: false, meaning: 'an Expect other than 100-continue' },
  no_preview: {
    status: 415,
    retryable: false,
    meaning: 'no preview of this file can exist: its kind has none, or processing failed on it',
  },
  unprocessable: { status: 422, retryable: false, meaning: 'well-formed, but not acceptable as it is' },
  checksum_mismatch: {
    status: 460,
    retryable: false,
    meaning: 'the body does not match its Upload-Checksum (tus); nothing of it was kept',
  },
  precondition_required: { status: 428, retryable: false, meaning: 'this change needs If-Match' },
  throttled: { status: 429, retryable: true, meaning: 'over a per-caller limit; wait Retry-After' },
  headers_too_large: { status: 431, retryable: false, meaning: 'the request line and headers are too large' },
  internal: { status: 500, retryable: false, meaning: 'a bug, logged with the request id' },
  bad_gateway: { status: 502, retryable: true, meaning: 'the proxy reached no api instance' },
  unavailable: {
    status: 503,
    retryable: true,
    meaning: 'no worker or broker can serve it now, or the api is shutting down',
  },
  storage_unavailable: {
    status: 503,
    retryable: true,
    named: true,
    meaning: 'the object store cannot be reached',
  },
  processing_off: {
    status: 503,
    retryable: false,
    named: true,
    meaning: 'file processing (previews, search) does not run on this server: it needs NATS',
  },
  timeout: { status: 504, retryable: true, meaning: 'no answer within the deadline' },
  quota_exceeded: { status: 507, retryable: false, meaning: "the pod's storage quota is used up" },
  aborted: {
    status: 400,
    retryable: false,
    named: true,
    meaning: 'the client ended the request before it was complete',
  },
  error: { status: 500, retryable: false, meaning: 'any other error' },
} as const satisfies Record<string, ProblemEntry>;

export type ProblemCode = keyof typeof PROBLEM_CODES;

export const problemTypeUri = (code: ProblemCode): string => `${PROBLEM_TYPE_PREFIX}${code}`;

/** The code an answer of `status` has when nothing more specific is known. */
export function codeOfStatus(status: number): ProblemCode {
  for (const [code, entry] of Object.entries(PROBLEM_CODES) as [ProblemCode, ProblemEntry][]) {
    if (entry.status === status && entry.named !== true) return code;
  }
  return status >= 500 ? 'error' : 'invalid';
}

export function isProblemCode(value: unknown): value is ProblemCode {
  return typeof value === 'string' && Object.hasOwn(PROBLEM_CODES, value);
}
