/**
 * A failed command for stderr: the server's problem (status, title, detail, code, request id), an
 * unreachable server, or a local error. Never prints the token: the settings keep it out of the URL.
 */
import { PodstoreError } from '../sdk.ts';

export function describeFailure(error: unknown, json: boolean, url: string): string {
  if (error instanceof PodstoreError) {
    const problem = { ...(error.problem ?? { status: error.status }), requestId: error.requestId };
    if (json) return `${JSON.stringify(problem)}\n`;
    const title = typeof error.problem?.title === 'string' ? ` ${error.problem.title}` : '';
    return (
      `${error.status}${title}: ${error.message} [${error.code}]` +
      `${error.requestId === null ? '' : ` (request id ${error.requestId})`}\n`
    );
  }
  const message = unreachable(error, url) ?? (error as Error).message ?? String(error);
  return json ? `${JSON.stringify({ error: message })}\n` : `podstore: ${message}\n`;
}

/** fetch's "fetch failed" with the reason it carries (ECONNREFUSED, ENOTFOUND...). */
function unreachable(error: unknown, url: string): string | undefined {
  if (!(error instanceof TypeError) || error.message !== 'fetch failed') return undefined;
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const reason = typeof cause?.code === 'string' ? cause.code : String(cause?.message ?? 'no answer');
  return `cannot reach ${url}: ${reason}`;
}
