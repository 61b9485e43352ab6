/** Backoff between webhook delivery attempts: base, then 4 times longer each time, at most an hour. */
export const MAX_RETRY_DELAY_MS = 3_600_000;

/** Delay after failed attempt number `attempt` (1-based). */
export function retryDelayMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 4 ** Math.max(0, attempt - 1), MAX_RETRY_DELAY_MS);
}
