/**
 * A client that goes away before its answer is complete (an upload cut mid-body, a reset socket, a
 * download abandoned, a request that outlived API_REQUEST_TIMEOUT_MS) is the client's doing: never a 5xx
 * nor an error-level log that a hostile client could flood. Each such request is logged once, at info
 * with its request id, and counted in `podstore_api_client_aborts_total{phase}`. See docs/security/http.md.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';

/** Error codes of a stream whose other end went away (Node's, for sockets and streams). */
const GONE_CODES = new Set([
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);

/**
 * Whether `error` says only that this request's client went away: a "gone" code (or Node's `aborted`)
 * while the client's side of the request is indeed closed. A server-side fault that happens to carry
 * such a code while the client is still there is not one.
 */
export function isClientAbort(
  error: { code?: unknown; message?: unknown } | null | undefined,
  client: { requestDestroyed: boolean; socketDestroyed: boolean },
): boolean {
  if (error === null || error === undefined) return false;
  const gone = (typeof error.code === 'string' && GONE_CODES.has(error.code)) || error.message === 'aborted';
  return gone && (client.requestDestroyed || client.socketDestroyed);
}

export const clientStateOf = (request: FastifyRequest) => ({
  requestDestroyed: request.raw.destroyed,
  socketDestroyed: request.raw.socket?.destroyed ?? true,
});

const EVENTS_ROUTE = '/v1/users/:owner/events';

export interface ClientAborts {
  /** Watches one request: when its response closes unfinished, logs it once (info) and counts it. */
  watch(request: FastifyRequest, reply: FastifyReply): void;
}

export function clientAborts(registry: Registry): ClientAborts {
  const aborts = new Counter({
    name: 'podstore_api_client_aborts_total',
    help: 'Requests whose client went away before their answer was complete, by phase (request: before the answer began; response: while it was sent)',
    labelNames: ['phase'],
    registers: [registry],
  });
  return {
    watch(request, reply) {
      reply.raw.once('close', () => {
        if (reply.raw.writableFinished) return;
        // A live event stream has no end but the client's: its close is how it finishes.
        if (request.routeOptions.url === EVENTS_ROUTE) return;
        const phase = reply.raw.headersSent ? 'response' : 'request';
        aborts.inc({ phase });
        request.log.info(
          { method: request.method, route: request.routeOptions.url ?? 'unmatched', phase },
          'client went away',
        );
      });
    },
  };
}
