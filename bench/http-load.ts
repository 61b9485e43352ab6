/** HTTP load with autocannon, reported in the same shape as the closed-loop baseline. */
import autocannon from 'autocannon';
import type { LoadResult } from './closed-loop.ts';

export interface HttpLoad {
  url: string;
  connections: number;
  seconds: number;
  method: 'GET' | 'PUT';
  /** Paths are cycled through, one per request. */
  paths: string[];
  /** Extra headers of the request to `paths[i]` (its owner's token, say). */
  headersFor?: (i: number) => Record<string, string>;
  body?: string | Buffer;
  contentType?: string;
}

export type HttpLoadResult = LoadResult & { non2xx: number; statuses: Record<string, number> };

export async function httpLoad(load: HttpLoad): Promise<HttpLoadResult> {
  // One shared cursor, so concurrent connections spread over the paths instead of moving in step.
  let cursor = 0;
  const requests = [
    {
      method: load.method,
      ...(load.body === undefined
        ? {}
        : { body: load.body, headers: { 'content-type': load.contentType ?? 'application/json' } }),
      setupRequest: (request: autocannon.Request) => {
        const i = cursor++ % load.paths.length;
        return {
          ...request,
          path: load.paths[i] as string,
          headers: { ...request.headers, ...load.headersFor?.(i) },
        };
      },
    },
  ];
  const result = await autocannon({
    url: load.url,
    connections: load.connections,
    duration: load.seconds,
    requests,
  });
  return {
    requests: result.requests.total,
    errors: result.errors + result.timeouts + result.non2xx,
    non2xx: result.non2xx,
    statuses: Object.fromEntries(
      Object.entries(result.statusCodeStats ?? {}).map(([status, stats]) => [status, stats?.count ?? 0]),
    ),
    seconds: result.duration,
    rps: Math.round(result.requests.total / result.duration),
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
  };
}
