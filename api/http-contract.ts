/**
 * The HTTP contract every answer keeps, whatever refuses the request: problem+json with X-Request-Id
 * (also for what Node's parser refuses, and while the api shuts down), browser-safety headers, one value
 * per singleton header, bounded JSON nesting, and bounded time and connections per client before a
 * request is even read. See docs/security/http.md.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { DEFAULT_JSON_MAX_DEPTH } from '../protocol/json-depth.ts';
import { clientErrorHandler, clientErrorResponse } from './client-error.ts';
import { ConnectionLimiter } from './connection-limit.ts';
import { depthLimitedJsonParser } from './json-parser.ts';
import { DEFAULT_LINGER_MS, lingerAfterAnswer } from './lingering-close.ts';
import { HttpProblem, PROBLEM_TYPE, problem } from './problem.ts';
import { requestIdOf } from './request-id.ts';
import { BASELINE_SECURITY_HEADERS } from './security-headers.ts';
import { repeatedSingletonHeader } from './singleton-headers.ts';

export interface HttpContractOptions {
  logger: FastifyBaseLogger;
  metrics: { registry: Registry };
  /** JSON_MAX_DEPTH. */
  jsonMaxDepth?: number;
  /** API_HEADERS_TIMEOUT_MS: the request line and headers must arrive within this. */
  headersTimeoutMs?: number;
  /** API_REQUEST_TIMEOUT_MS: the whole request, body included, must arrive within this (0: no limit). */
  requestTimeoutMs?: number;
  /** API_MAX_CONNECTIONS_PER_IP (0: no cap). */
  maxConnectionsPerIp?: number;
  /** How long a connection answered before its body was read may go on receiving it (lingering close). */
  lingerMs?: number;
}

export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 3_600_000;
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 256;

/** Node checks its header and request timeouts this often (its default, 30 s, let them run 30 s over). */
const TIMEOUT_CHECK_MS = 1000;

function contractMetrics(registry: Registry) {
  const existing = registry.getSingleMetric('podstore_api_malformed_requests_total');
  if (existing !== undefined) {
    return {
      malformed: existing as Counter<'status'>,
      refused: registry.getSingleMetric('podstore_api_connections_refused_total') as Counter,
    };
  }
  return {
    malformed: new Counter({
      name: 'podstore_api_malformed_requests_total',
      help: 'Requests refused by the HTTP parser (bad framing, headers too large or too slow), by status',
      labelNames: ['status'],
      registers: [registry],
    }),
    refused: new Counter({
      name: 'podstore_api_connections_refused_total',
      help: 'Connections closed at once because their client already held API_MAX_CONNECTIONS_PER_IP',
      registers: [registry],
    }),
  };
}

/** The fastify (and Node http server) options of the contract; spread into `Fastify({...})`. */
export function httpServerOptions(options: HttpContractOptions) {
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const headersTimeout = Math.min(
    options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    requestTimeout > 0 ? requestTimeout : Number.MAX_SAFE_INTEGER,
  );
  const { malformed } = contractMetrics(options.metrics.registry);
  return {
    http: {
      headersTimeout,
      requestTimeout,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      // Node's own 400 for a missing Host is an empty body without a request id; onRequest answers it.
      requireHostHeader: false,
    },
    requestTimeout,
    // Our onRequest hook answers while closing, as problem+json with a request id.
    return503OnClosing: false,
    clientErrorHandler: clientErrorHandler(options.logger, (status) =>
      malformed.inc({ status: String(status) }),
    ),
  };
}

/**
 * Requests Node answers by itself without a body or a request id, or not at all: an `Expect` other than
 * `100-continue` (Node's bare 417) and `CONNECT` (Node drops the connection without a word).
 */
function answerWhatNodeWouldRefuseBare(app: FastifyInstance): void {
  app.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const body = JSON.stringify(problem(417, 'the only expectation served is 100-continue'));
    response.writeHead(417, {
      ...BASELINE_SECURITY_HEADERS,
      'content-type': `${PROBLEM_TYPE}; charset=utf-8`,
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': requestIdOf(request),
      connection: 'close',
    });
    response.end(body);
  });
  app.server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => {});
    socket.end(clientErrorResponse(405, 'CONNECT is not served here', requestIdOf(request)));
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}

/** Installs the contract on the root instance (before the routes, so it covers them all). */
export function installHttpContract(app: FastifyInstance, options: HttpContractOptions): void {
  const { refused } = contractMetrics(options.metrics.registry);
  let lastRefusalLog = 0;
  new ConnectionLimiter(options.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP, (client) => {
    refused.inc();
    if (Date.now() - lastRefusalLog > 5000) {
      lastRefusalLog = Date.now();
      options.logger.warn({ client }, 'connection refused: its client holds API_MAX_CONNECTIONS_PER_IP');
    }
  }).attach(app.server);

  answerWhatNodeWouldRefuseBare(app);

  const jsonParser = depthLimitedJsonParser(app, options.jsonMaxDepth ?? DEFAULT_JSON_MAX_DEPTH);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', 'application/merge-patch+json'],
    { parseAs: 'string' },
    jsonParser,
  );

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.headers(BASELINE_SECURITY_HEADERS);
    if (closing) {
      reply.header('connection', 'close');
      throw new HttpProblem(503, 'this api is shutting down; retry', 1);
    }
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      throw new HttpProblem(400, 'an HTTP/1.1 request needs a Host header');
    }
    const repeated = repeatedSingletonHeader(request.raw.rawHeaders);
    if (repeated !== undefined) {
      throw new HttpProblem(
        400,
        `the ${repeated} header may be sent once; this request sends it more than once`,
      );
    }
  });
  // An answer sent before its request's body was read to the end (a refusal, a worker that answered
  // first): the connection cannot carry another request, and it is closed in stages so that a client
  // still sending gets this answer rather than a reset (api/lingering-close.ts).
  const lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
  app.addHook('onSend', async (request, reply, payload) => {
    if (!request.raw.complete) {
      reply.header('connection', 'close');
      lingerAfterAnswer(request.raw, lingerMs);
    }
    return payload;
  });
}
