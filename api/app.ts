/**
 * The fastify application: request ids, problem+json for every error, the authentication seam, metrics,
 * and the routes. Built without listening, so tests can inject requests.
 */

import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { serviceOf } from '../protocol/commands.ts';
import type { Invalidations } from '../protocol/events/invalidation.ts';
import { USERNAME_RULE } from '../protocol/names.ts';
import { authenticator } from './auth/authenticate.ts';
import { TokenResolver } from './auth/token-resolver.ts';
import type { BrokerClient } from './broker-client.ts';
import { serviceCaller, streamOpener } from './call-service.ts';
import { clientAborts, clientStateOf, isClientAbort } from './client-aborts.ts';
import { consoleDirOf, consoleRoutes } from './console/serve-console.ts';
import type { LiveEvents } from './events/live-events.ts';
import { type HttpContractOptions, httpServerOptions, installHttpContract } from './http-contract.ts';
import { admission } from './limits/admission.ts';
import type { CallerLimitSettings, ThrottledReason } from './limits/caller-limits.ts';
import type { ApiMetrics } from './metrics.ts';
import { registerOpenApi } from './openapi/docs-routes.ts';
import { HttpProblem, refusalStatus, sendProblem, ThrottledProblem } from './problem.ts';
import { requestIdOf } from './request-id.ts';
import { benchRoutes } from './routes/bench.ts';
import { eventsRoutes } from './routes/events.ts';
import { filesRoutes } from './routes/files.ts';
import { grantsRoutes } from './routes/grants.ts';
import { healthRoutes } from './routes/health.ts';
import { quotaRoutes } from './routes/quota.ts';
import { searchRoutes } from './routes/search.ts';
import { tokensRoutes } from './routes/tokens.ts';
import { uploadsRoutes } from './routes/uploads.ts';
import { usersRoutes } from './routes/users.ts';
import { webhooksRoutes } from './routes/webhooks.ts';
import { problemSchema } from './schemas/problem.ts';
import { clientAddressOf, parseTrustedProxies, type TrustedProxies } from './trusted-proxies.ts';
import { validationDetail } from './validation-detail.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller's username (`admin` for the operator); null for a request without a token. */
    principal: string | null;
    /**
     * Asks again whether the request's token still stands for `principal` (revoked, expired, or its account
     * deleted: false). Long-lived responses (event streams) call it while they run. Null without a token.
     */
    credentialsStillValid: (() => Promise<boolean>) | null;
    /** The client's address: the TCP peer, or what a trusted proxy says of it (api/trusted-proxies.ts). */
    readonly clientAddress: string;
  }
}

export interface AppOptions extends HttpContractOptions {
  broker: BrokerClient;
  logger: FastifyBaseLogger;
  metrics: ApiMetrics;
  commandTimeoutMs: number;
  /** The operator's token (admin: creates accounts when sign-up is closed); empty for none. */
  adminToken: string;
  /** How long a resolved token is trusted before asking again (at most 1000 ms). */
  authCacheMs: number;
  streamTimeoutMs: number;
  maxFileBytes: number;
  window: number;
  chunkBytes: number;
  /** DOWNLOAD_REOPEN_ATTEMPTS: how often a download whose worker died mid-stream is reopened on another. */
  downloadReopens?: number;
  /** Upload bodies up to this size can be sent again when their worker dies (UPLOAD_REPLAY_BYTES). */
  replayBytes: number;
  readinessTimeoutMs: number;
  /** Live events; undefined when NATS_URL is empty (the events and webhooks endpoints answer 503). */
  events?: LiveEvents | undefined;
  /** Cache invalidations from the workers (revoked tokens); undefined without NATS. */
  invalidations?: Promise<Invalidations> | undefined;
  sseHeartbeatMs?: number;
  sseMaxBufferBytes?: number;
  /** Per-caller limits (api/limits/): requests, transfers, event streams in flight; Retry-After of a 429. */
  limits: CallerLimitSettings & { retryAfterS: number };
  /** API_TRUSTED_PROXIES: peers whose X-Forwarded-For names the client; none when absent. */
  trustedProxies?: TrustedProxies;
  /** BENCH_ROUTES: serve the benchmark routes (api/routes/bench.ts). */
  benchRoutes?: boolean;
  /** CONSOLE_DIR: the built web console served at `/` ('' or absent: console/dist beside the api). */
  consoleDir?: string;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    genReqId: requestIdOf,
    // The api logs each request itself (one line with its status and time), so fastify's own lines are off.
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    forceCloseConnections: 'idle',
    // Request schemas check what a client sent as it is (query values stay text, bodies are not
    // rewritten): what the OpenAPI document describes is exactly what is accepted.
    ajv: { customOptions: { coerceTypes: false } },
    // Errors fastify raises before routing (a malformed URL, say) are problem+json like every other.
    frameworkErrors: (error, _request, reply) => {
      return sendProblem(reply, refusalStatus((error as FastifyError).statusCode), error.message);
    },
    ...httpServerOptions(options),
  });
  installHttpContract(app, options);

  app.decorateRequest('principal', null);
  app.decorateRequest('credentialsStillValid', null);
  const trusted = options.trustedProxies ?? parseTrustedProxies('');
  app.decorateRequest('clientAddress', {
    getter(this: FastifyRequest) {
      return (
        clientAddressOf(this.raw.socket?.remoteAddress, this.headers['x-forwarded-for'], trusted) ?? 'unknown'
      );
    },
  });

  const limits = admission({ ...options.limits, registry: options.metrics.registry });
  const resolver = new TokenResolver(
    (hash, callOptions) =>
      limits.tokenCheck(callOptions.caller, () =>
        options.broker.call(serviceOf('auth.resolve'), 'auth.resolve', { hash }, callOptions),
      ),
    options.authCacheMs,
  );
  const authenticate = authenticator({ adminToken: options.adminToken, resolver });
  // With NATS, a revoked token is dropped from this replica's cache the moment a worker revokes it.
  void options.invalidations?.then((invalidations) => {
    invalidations.on('token.revoked', (message) => {
      if (message.key !== undefined) resolver.forgetHash(message.key);
    });
    invalidations.onResync(() => resolver.clear());
  });
  const aborts = clientAborts(options.metrics.registry);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    aborts.watch(request, reply);
    await limits.admit(request, reply, authenticate);
  });
  app.addHook('onResponse', async (request, reply) => {
    // A user who deleted their account through this api: its token dies here at once (elsewhere within
    // AUTH_CACHE_MS).
    if (
      request.method === 'DELETE' &&
      (reply.statusCode === 204 || reply.statusCode === 202) &&
      request.routeOptions.url === '/v1/users/:username'
    ) {
      const token = /^Bearer +(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
      if (token !== undefined) resolver.forget(token);
    }
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.requests.inc({ method: request.method, route, status: reply.statusCode });
    options.metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    request.log.info(
      {
        method: request.method,
        url: request.url,
        client: request.clientAddress,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpProblem) {
      if (error instanceof ThrottledProblem) limits.countThrottled(error.reason as ThrottledReason);
      reply.headers(error.headers);
      return sendProblem(reply, error.status, error.message, error.retryAfter, error.code, error.foreign);
    }
    if (error.validation !== undefined) {
      const usernameRule = error.validation.some((v) => ['/username', '/owner'].includes(v.instancePath));
      return sendProblem(
        reply,
        400,
        usernameRule ? USERNAME_RULE : validationDetail(error.validationContext, error.validation),
      );
    }
    // The client went away (counted and logged once by `aborts`): nobody is left to answer, and it is
    // not the api's fault. A 4xx, should any part of the client still listen.
    if (isClientAbort(error, clientStateOf(request))) {
      request.log.debug({ code: error.code }, 'request ended by its client');
      return sendProblem(
        reply,
        400,
        'the client closed the connection before the request was complete',
        undefined,
        'aborted',
      );
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendProblem(reply, refusalStatus(status), error.message);
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 500, `internal error (request ${request.id})`);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, `no route for ${request.method} ${request.url}`),
  );

  app.addSchema(problemSchema);
  await registerOpenApi(app);
  const call = serviceCaller(options.broker, options.commandTimeoutMs);
  await app.register(healthRoutes(options.broker, options.metrics.registry, options.readinessTimeoutMs));
  await app.register(usersRoutes(call));
  await app.register(tokensRoutes(call));
  await app.register(grantsRoutes(call));
  await app.register(quotaRoutes(call));
  await app.register(searchRoutes(call));
  await app.register(
    eventsRoutes({
      call,
      events: options.events,
      heartbeatMs: options.sseHeartbeatMs ?? 15_000,
      maxBufferBytes: options.sseMaxBufferBytes ?? 1_048_576,
    }),
  );
  await app.register(webhooksRoutes(call, options.events !== undefined));
  if (options.benchRoutes) await app.register(benchRoutes(call));
  await app.register(consoleRoutes(consoleDirOf(options.consoleDir ?? '')));
  await app.register(
    filesRoutes({ ...options, call, open: streamOpener(options.broker, options.streamTimeoutMs) }),
  );
  await app.register(
    uploadsRoutes({ ...options, call, open: streamOpener(options.broker, options.streamTimeoutMs) }),
  );
  return app;
}
