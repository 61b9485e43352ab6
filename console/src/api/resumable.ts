/**
 * The pure rules of the console's resumable uploads (tus, console/src/api/resumable-upload.ts): which
 * files go that way, where to, which URLs the token may travel to, when to retry, and how a failure
 * reads. No I/O here, so console/test/ checks them without a browser.
 */
import { isProblemCode, PROBLEM_CODES, type ProblemCode } from '../../../protocol/problem-types.ts';
import { RESUMABLE_MIN_BYTES } from '../../../protocol/resumable-upload.ts';
import { userPath } from './paths.ts';
import { ApiError, apiErrorOf } from './problem.ts';

export { RESUMABLE_MIN_BYTES };

/** Whether a file of `size` bytes goes up with tus (16 MiB or more, as the CLI's `put`), else one PUT. */
export function goesResumably(size: number): boolean {
  return size >= RESUMABLE_MIN_BYTES;
}

/**
 * The pod's tus endpoint as an absolute URL on the page's origin (tus-js-client resolves the upload's
 * Location against it, which needs an absolute base).
 */
export function uploadsEndpoint(owner: string, pageUrl: string): string {
  return new URL(`${userPath(owner)}/uploads/`, pageUrl).href;
}

/** A request of the upload that would have left the page's origin: refused before it is sent. */
export class ForeignUploadUrlError extends Error {
  constructor(readonly url: string) {
    super(
      `the server named an upload address on another origin (${safeOrigin(url)}); nothing was sent there`,
    );
    this.name = 'ForeignUploadUrlError';
  }
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an address that is not a URL';
  }
}

/**
 * Throws ForeignUploadUrlError unless `url` (resolved against the page) is on the page's own origin:
 * every request of an upload carries the token, so a Location naming another origin (or another
 * scheme or port) is never followed.
 */
/**
 * The condition a request of a resumable upload carries: `If-None-Match: *` on the creation (POST)
 * unless the user chose to replace, so the server refuses a taken name then and at the last byte (412).
 */
export function creationCondition(method: string, replace: boolean): Record<string, string> {
  return method.toUpperCase() === 'POST' && !replace ? { 'If-None-Match': '*' } : {};
}

export function checkSameOrigin(url: string, pageUrl: string): void {
  let resolved: URL;
  try {
    resolved = new URL(url, pageUrl);
  } catch {
    throw new ForeignUploadUrlError(url);
  }
  if (resolved.origin !== new URL(pageUrl).origin) throw new ForeignUploadUrlError(resolved.href);
}

/** What the retry rule and the error text need of tus-js-client's DetailedError. */
export interface TusFailure {
  message: string;
  originalRequest?: { getMethod(): string } | null;
  originalResponse?: {
    getStatus(): number;
    getBody(): string;
    getHeader(name: string): string | undefined;
  } | null;
  causingError?: Error | null;
}

/**
 * Whether to try again after a failed request (each retry first asks the server where it stopped), and
 * only while the browser says it is online: after a dropped connection (no answer); after 409 to a
 * PATCH or HEAD (the offset moved) or 423; after an answer whose problem code says a retry may help
 * (502, 503, 504, 408, 429: docs/api.md#errors), or a 5xx, 408 or 429 without a problem document (a
 * proxy's page). Never after a refusal (403, 413, 500 internal, 507 quota...) nor a foreign URL.
 */
export function shouldRetryResumable(failure: TusFailure, online: boolean): boolean {
  if (failure.causingError instanceof ForeignUploadUrlError || !online) return false;
  const response = failure.originalResponse;
  const status = response?.getStatus() ?? 0;
  if (response === null || response === undefined || status === 0) return true;
  const method = failure.originalRequest?.getMethod().toUpperCase();
  if (status === 409) return method === 'PATCH' || method === 'HEAD';
  if (status === 423) return true;
  const code = problemCodeOf(response.getBody());
  if (code !== undefined) return PROBLEM_CODES[code].retryable;
  return status >= 500 || status === 408 || status === 429;
}

function problemCodeOf(body: string): ProblemCode | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const code =
      parsed !== null && typeof parsed === 'object' ? (parsed as { code?: unknown }).code : undefined;
    return isProblemCode(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A failed resumable upload as the console shows every refusal: the problem document's detail and the
 * request id when the server answered, else what went wrong in words.
 */
export function resumableError(failure: TusFailure): ApiError {
  if (failure.causingError instanceof ForeignUploadUrlError)
    return new ApiError(0, 'foreign_upload_url', failure.causingError.message, null);
  const response = failure.originalResponse;
  if (response !== null && response !== undefined && response.getStatus() > 0)
    return apiErrorOf(response.getStatus(), response.getBody(), response.getHeader('x-request-id') ?? null);
  return new ApiError(
    0,
    'network',
    'the upload was interrupted and could not go on after several retries; check the connection and retry',
    null,
  );
}
