/**
 * A worker's first contact with its object store, when the store may not answer yet: on Kubernetes
 * nothing orders pods, so workers often start while MinIO is still starting (its Service refuses
 * connections, its name does not resolve yet, or it answers 503 while it initialises). Retries `init`
 * while the store is unreachable in such a way, waiting longer each time up to a cap; any other error
 * (bad credentials, a bucket name S3 refuses) is thrown at once, as before. The wait has no bound of its own: the orchestrator's liveness check (the worker's metrics port
 * opens only once the store answered) or a person reading the logged retries decides when to stop.
 */
import { StorageUnavailableError } from './object-store.ts';

export interface InitRetry {
  firstDelayMs: number;
  maxDelayMs: number;
}

/** Network failures that a store still starting gives. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);
/** S3 answers of a server that is up but not serving yet. */
const NOT_READY_CODES = new Set([
  'ServiceUnavailable',
  'SlowDown',
  'InternalError',
  'XMinioServerNotInitialized',
]);

/** True for a StorageUnavailableError caused by a store that is not (yet) there, not by one that refuses us. */
export function isStoreNotReachable(error: unknown): boolean {
  if (!(error instanceof StorageUnavailableError)) return false;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (UNREACHABLE_CODES.has(code) || NOT_READY_CODES.has(code));
}

export const DEFAULT_INIT_RETRY: InitRetry = { firstDelayMs: 250, maxDelayMs: 5000 };

export async function initWhenReachable(
  store: { init(): Promise<void> },
  onRetry: (error: StorageUnavailableError, attempt: number, delayMs: number) => void,
  retry: InitRetry = DEFAULT_INIT_RETRY,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<void> {
  let delayMs = retry.firstDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await store.init();
      return;
    } catch (error) {
      if (!isStoreNotReachable(error)) throw error;
      onRetry(error as StorageUnavailableError, attempt, delayMs);
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, retry.maxDelayMs);
    }
  }
}
