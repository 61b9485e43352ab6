/**
 * What a worker answers in the body of a FINAL frame: the command's value, or a domain error. The api
 * maps error codes to HTTP statuses; the worker never speaks HTTP.
 */
import { pack, unpack } from './codec.ts';

export const ErrorCode = {
  /** The input is not acceptable (bad name, bad shape). */
  INVALID: 'invalid',
  NOT_FOUND: 'not_found',
  /** The target exists already or its state forbids the change. */
  CONFLICT: 'conflict',
  /** An If-Match / If-None-Match condition does not hold. */
  PRECONDITION_FAILED: 'precondition_failed',
  /** Well-formed but cannot be processed as asked (an Idempotency-Key reused for another request). */
  UNPROCESSABLE: 'unprocessable',
  FORBIDDEN: 'forbidden',
  /** The worker does not know the command. */
  UNKNOWN_COMMAND: 'unknown_command',
  /** The object store cannot be reached or refused the operation for a transient reason. */
  STORAGE_UNAVAILABLE: 'storage_unavailable',
  /** The command's deadline passed while the worker was on it. */
  TIMEOUT: 'timeout',
  /** A streamed body is over the size limit. */
  TOO_LARGE: 'too_large',
  /** The pod's storage quota (bytes or files), or the grant's byte budget, has no room for the write. */
  QUOTA_EXCEEDED: 'quota_exceeded',
  /** The client cancelled a stream, or broke its protocol; nothing was written. */
  ABORTED: 'aborted',
  /** A body that does not match the checksum its request gave (tus checksum extension). */
  CHECKSUM_MISMATCH: 'checksum_mismatch',
  /** A range that does not overlap the file. */
  RANGE_NOT_SATISFIABLE: 'range_not_satisfiable',
  /** No preview of this file can exist: its kind has none, or processing failed on it. */
  NO_PREVIEW: 'no_preview',
  /**
   * File processing (previews, search) does not run on this server: it needs NATS (NATS_URL), which carries
   * the jobs. Not retryable: the answer stays the same until the server is configured otherwise.
   */
  PROCESSING_OFF: 'processing_off',
  /** A bug: logged with the request id. */
  INTERNAL: 'internal',
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A domain error; `retryAfterS` when the same request may succeed later (a key still held, say). */
export interface OutcomeError {
  code: ErrorCodeValue;
  detail: string;
  retryAfterS?: number;
}

export type Outcome<T = unknown> = { ok: true; value: T } | { ok: false; error: OutcomeError };

/** Thrown by command handlers for expected failures; anything else thrown becomes INTERNAL. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly code: ErrorCodeValue,
    detail: string,
    /** Seconds after which the same request may succeed. */
    readonly retryAfterS?: number,
  ) {
    super(detail);
  }
}

export function encodeOutcome(outcome: Outcome): Buffer {
  return pack(outcome);
}

const codes = new Set<string>(Object.values(ErrorCode));

export function decodeOutcome(body: Buffer): Outcome {
  const value = unpack(body) as Partial<{
    ok: unknown;
    value: unknown;
    error: { code?: unknown; detail?: unknown; retryAfterS?: unknown };
  }>;
  if (value?.ok === true) return { ok: true, value: value.value };
  const code = value?.error?.code;
  if (value?.ok === false && typeof code === 'string' && codes.has(code)) {
    const retryAfterS = value.error?.retryAfterS;
    return {
      ok: false,
      error: {
        code: code as ErrorCodeValue,
        detail: String(value.error?.detail ?? ''),
        ...(typeof retryAfterS === 'number' && Number.isInteger(retryAfterS) && retryAfterS > 0
          ? { retryAfterS }
          : {}),
      },
    };
  }
  throw new TypeError('reply body is not an outcome');
}
