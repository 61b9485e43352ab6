/**
 * The fastify application: request ids, problem+json for every error, the authentication seam, metrics,
 * and the routes. Built without listening, so tests can inject requests.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { USERNAME_RULE } from '../protocol/names.ts';
import type { BrokerClient } from './broker-client.ts';
import { serviceCaller, streamOpener } from './call-service.ts';
import type { LiveEvents } from './events/live-events.ts';
import type { ApiMetrics } from './metrics.ts';
import { HttpProblem, sendProblem } from './problem.ts';
import { requestIdOf } from './request-id.ts';
import { eventsRoutes } from './routes/events.ts';
import { filesRoutes } from './routes/files.ts';
import { healthRoutes } from './routes/health.ts';
import { usersRoutes } from './routes/users.ts';
import { webhooksRoutes } from './routes/webhooks.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller's username; null until authentication lands (issue: accounts and tokens). */
    principal: string | null;
  }
}

export interface AppOptions {
  broker: BrokerClient;
  logger: FastifyBaseLogger;
  metrics: ApiMetrics;
  commandTimeoutMs: number;
  streamTimeoutMs: number;
  maxFileBytes: number;
  window: number;
  chunkBytes: number;
  readinessTimeoutMs: number;
  /** Live events; undefined when NATS_URL is empty (the events and webhooks endpoints answer 503). */
  events?: LiveEvents | undefined;
  sseHeartbeatMs?: number;
  sseMaxBufferBytes?: number;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    genReqId: requestIdOf,
    requestIdLogLabel: 'requestId',
    disableRequestLogging: true,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  app.decorateRequest('principal', null);
  app.addContentTypeParser(
    'application/merge-patch+json',
    { parseAs: 'string' },
    app.getDefaultJsonParser('error', 'error'),
  );

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // Authentication seam: the accounts issue resolves the bearer token into request.principal here.
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.requests.inc({ method: request.method, route, status: reply.statusCode });
    options.metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    request.log.info(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpProblem)
      return sendProblem(reply, error.status, error.message, error.retryAfter);
    if (error.validation !== undefined) {
      const usernameRule = error.validation.some((v) => ['/username', '/owner'].includes(v.instancePath));
      return sendProblem(
        reply,
        400,
        usernameRule ? USERNAME_RULE : `${error.validationContext} ${error.message}`,
      );
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendProblem(reply, status, error.message);
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 500, `internal error (request ${request.id})`);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, `no route for ${request.method} ${request.url}`),
  );

  const call = serviceCaller(options.broker, options.commandTimeoutMs);
  await app.register(healthRoutes(options.broker, options.metrics.registry, options.readinessTimeoutMs));
  await app.register(usersRoutes(call));
  await app.register(
    eventsRoutes({
      call,
      events: options.events,
      heartbeatMs: options.sseHeartbeatMs ?? 15_000,
      maxBufferBytes: options.sseMaxBufferBytes ?? 1_048_576,
    }),
  );
  await app.register(webhooksRoutes(call, options.events !== undefined));
  await app.register(
    filesRoutes({ ...options, call, open: streamOpener(options.broker, options.streamTimeoutMs) }),
  );
  return app;
}
