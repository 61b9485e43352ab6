/**
 * Translates what minio-js throws into the storage interface's errors.
 *
 * minio-js throws S3Error (with the server's XML `code`) for 4xx answers, but for 5xx (and 408/429)
 * answers only a plain Error whose message reads "Request failed after N retries: Error: Retryable
 * HTTP status: 503"; network failures surface as Node errors with an errno-style `code`.
 */
import { InvalidKeyError, PreconditionFailedError, StorageUnavailableError } from './object-store.ts';

/** Server codes that mean "no such object" (GetObject says NoSuchKey, HeadObject only NotFound). */
const MISSING_CODES = new Set(['NoSuchKey', 'NotFound']);

/** A conflicting conditional write: 412, or 409 when the server saw concurrent conditional writes. */
const PRECONDITION_CODES = new Set(['PreconditionFailed', 'ConditionalRequestConflict']);

const INVALID_KEY_CODES = new Set(['KeyTooLongError', 'XMinioInvalidObjectName', 'InvalidObjectName']);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isMissingObjectError(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && MISSING_CODES.has(code);
}

/** The storage-interface error for a failed minio-js call, or the error itself if it is a bug. */
export function translateS3Error(error: unknown, operation: string): Error {
  if (
    error instanceof PreconditionFailedError ||
    error instanceof InvalidKeyError ||
    error instanceof StorageUnavailableError
  ) {
    return error;
  }
  const code = codeOf(error);
  const name = (error as Error | undefined)?.name;
  if (code !== undefined && PRECONDITION_CODES.has(code)) {
    return new PreconditionFailedError(`${operation}: ${code}`, { cause: error });
  }
  if ((code !== undefined && INVALID_KEY_CODES.has(code)) || name === 'InvalidObjectNameError') {
    return new InvalidKeyError(`${operation}: object name rejected (${code ?? name})`, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  // Any answer from the server other than the above (5xx, auth failure, missing bucket, throttling)
  // and any network failure means the store cannot serve us right now.
  if (code !== undefined || /Retryable HTTP status|Request failed after|Retries exhausted/.test(message)) {
    return new StorageUnavailableError(`S3 store: ${operation} failed: ${code ?? message}`, { cause: error });
  }
  return error instanceof Error ? error : new Error(message);
}
