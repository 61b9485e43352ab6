/**
 * The HTTP transport handed to minio-js: Node's http/https with keep-alive and an inactivity timeout.
 * minio-js itself never times a request out, so without this an unreachable or stalled S3 server would
 * hang every call. The timeout counts idle time (connecting, waiting for an answer, a stalled body),
 * not total time, so large bodies still move as long as bytes flow.
 *
 * A body handed to a caller as a stream (getStream) may sit idle because its consumer paused (flow
 * control), so such responses get a longer idle timeout of their own (setResponseIdleTimeout).
 */
import http from 'node:http';
import https from 'node:https';
import type { ClientOptions } from 'minio';

export type S3Transport = NonNullable<ClientOptions['transport']>;

export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
  readonly code = 'ETIMEDOUT';
}

export function createTimedTransport(
  protocol: 'http:' | 'https:',
  idleTimeoutMs: number,
): {
  transport: S3Transport;
  agent: http.Agent;
  /** The same request function, typed for callers other than minio-js. */
  request: (
    options: http.RequestOptions,
    callback?: (response: http.IncomingMessage) => void,
  ) => http.ClientRequest;
} {
  const base = protocol === 'https:' ? https : http;
  // Idle pooled sockets are closed after 10 s, before servers drop them (MinIO's idle timeout is 30 s),
  // so a request never goes out on a connection the server is closing.
  const agent = new base.Agent({ keepAlive: true, maxSockets: 128, timeout: 10_000 });
  const request = (options: http.RequestOptions, callback?: (response: http.IncomingMessage) => void) => {
    const req = base.request({ ...options, agent, timeout: idleTimeoutMs }, callback);
    req.on('timeout', () => {
      req.destroy(
        new RequestTimeoutError(`no answer from ${options.host}:${options.port} within ${idleTimeoutMs} ms`),
      );
    });
    return req;
  };
  return { transport: { request } as unknown as S3Transport, agent, request };
}

/**
 * Sets the idle timeout for the rest of `response` (its body): a body that moves no byte for `ms`
 * fails (the request is destroyed with RequestTimeoutError and the response with an error).
 * Call it before the body is consumed: once the body ended, the socket may serve another request.
 */
export function setResponseIdleTimeout(response: http.IncomingMessage, ms: number): void {
  response.socket?.setTimeout(ms);
}
