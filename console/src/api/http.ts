/**
 * The console's only way to the API: same-origin fetch with the bearer token in a header (never in a
 * URL, never in a cookie), JSON in and out, and every refusal turned into an ApiError.
 */
import { apiErrorOf } from './problem.ts';

export interface Credentials {
  username: string;
  token: string;
}

export interface RequestOptions {
  method?: string;
  /** A JSON body (sent as application/json unless contentType says otherwise). */
  json?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export function authHeaders(credentials: Credentials | null): Record<string, string> {
  return credentials === null ? {} : { authorization: `Bearer ${credentials.token}` };
}

/** Sends a request; resolves with the raw Response when it succeeded (2xx or 304), else throws ApiError. */
export async function send(
  credentials: Credentials | null,
  path: string,
  options: RequestOptions = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...authHeaders(credentials), ...options.headers };
  let body: string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    body = JSON.stringify(options.json);
  }
  const response = await fetch(path, {
    method: options.method ?? 'GET',
    headers,
    body,
    // No ambient credentials travel: the token is the only one.
    credentials: 'omit',
    cache: 'no-store',
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (!response.ok && response.status !== 304) {
    throw apiErrorOf(response.status, await response.text(), response.headers.get('x-request-id'));
  }
  return response;
}

/** A request whose answer is JSON (or nothing: 204 gives undefined). */
export async function requestJson<T>(
  credentials: Credentials | null,
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const response = await send(credentials, path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
