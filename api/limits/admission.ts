/**
 * Admission of an HTTP request under the per-caller limits (caller-limits.ts). A request of a principal
 * holds that principal's slots; an unauthenticated one (sign-up) holds a slot of its client address,
 * and so does every token check that goes to a worker (concurrent requests with one token share one
 * check). Slots are held until the response closes (finished, or the client went away). Over a limit:
 * 429 problem+json with Retry-After, counted in `podstore_api_throttled_total{reason}`. Operational
 * routes (health, readiness, metrics) and the benchmark routes (BENCH_ROUTES, off by default) are not
 * limited.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { clientKeyOf } from '../connection-limit.ts';
import { HttpProblem } from '../problem.ts';
import {
  addressKey,
  type CallerLimitSettings,
  CallerLimits,
  type SlotKind,
  type ThrottledReason,
  type ThrottleReason,
} from './caller-limits.ts';

export interface AdmissionOptions extends CallerLimitSettings {
  /** Seconds a refused caller is told to wait (Retry-After). */
  retryAfterS: number;
  registry: Registry;
}

const UNLIMITED_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);
const FILES_ROUTE = '/v1/users/:owner/files/*';
const EVENTS_ROUTE = '/v1/users/:owner/events';
const UPLOADS_ROUTE = '/v1/users/:owner/uploads/';
const UPLOAD_ROUTE = '/v1/users/:owner/uploads/:id';

/** What the request will hold: a transfer (file upload or download), an event stream, or a request. */
export function slotKindOf(request: FastifyRequest): SlotKind {
  const route = request.routeOptions.url;
  if (route === EVENTS_ROUTE && request.method === 'GET') return 'events';
  // A resumable upload's bytes (tus PATCH, or a creation that carries the first ones) are a transfer.
  if (route === UPLOAD_ROUTE || route === UPLOADS_ROUTE)
    return request.method === 'PATCH' || request.method === 'POST' ? 'transfer' : 'request';
  if (route !== FILES_ROUTE) return 'request';
  if (request.method === 'PUT' || request.method === 'POST') return 'transfer';
  if (request.method !== 'GET') return 'request';
  const path = (request.params as { '*'?: string } | undefined)?.['*'] ?? '';
  const folder = path === '' || path.endsWith('/');
  const metadata = (request.query as Record<string, unknown> | undefined)?.metadata !== undefined;
  return folder || metadata ? 'request' : 'transfer';
}

/**
 * The key unauthenticated work of this request's client is counted under: its address (through a trusted
 * proxy, the one the proxy saw), an IPv6 client by its /64 like its connections, so a host cannot walk
 * its own prefix to escape the limit.
 */
export function addressCallerKeyOf(request: FastifyRequest): string {
  return addressKey(clientKeyOf(request.clientAddress));
}

/** The fairness key the api sends with every command: the principal, or the client's address. */
export function callerKeyOf(request: FastifyRequest): string {
  return request.principal ?? addressCallerKeyOf(request);
}

const messages: Record<ThrottleReason, string> = {
  requests: 'too many requests in flight for this account; retry later',
  transfers: 'too many uploads and downloads in flight for this account; retry later',
  events: 'too many event streams open for this account',
  anonymous: 'too many unauthenticated requests in flight from this address; retry later',
};

export interface Admission {
  /** The onRequest step: authenticates, then takes the caller's slot for the request, or throws a 429. */
  admit(
    request: FastifyRequest,
    reply: FastifyReply,
    authenticate: (request: FastifyRequest) => Promise<void>,
  ): Promise<void>;
  /** Runs a token check under its client address's limit (`caller`: `addressKey(ip)`), or throws a 429. */
  tokenCheck<T>(caller: string | undefined, check: () => Promise<T>): Promise<T>;
  /** Counts a 429 refused elsewhere (the broker's per-caller queue bound: `queue`). */
  countThrottled(reason: ThrottledReason): void;
}

export function admission(options: AdmissionOptions): Admission {
  const limits = new CallerLimits(options);
  const throttled = new Counter({
    name: 'podstore_api_throttled_total',
    help: 'Requests refused with 429 because their caller was over a limit, by limit',
    labelNames: ['reason'],
    registers: [options.registry],
  });
  const refuse = (reason: ThrottleReason, reply?: FastifyReply, kind?: SlotKind): HttpProblem => {
    throttled.inc({ reason });
    // An upload's body is left unread: the connection cannot carry another request.
    if (kind === 'transfer') reply?.header('connection', 'close');
    return new HttpProblem(429, messages[reason], options.retryAfterS);
  };

  return {
    async admit(request, reply, authenticate) {
      const route = request.routeOptions.url;
      if (route !== undefined && (UNLIMITED_ROUTES.has(route) || route.startsWith('/v1/bench/'))) {
        await authenticate(request);
        return;
      }
      // Listen first: the client may go away while its token is checked.
      let closed = false;
      let release: (() => void) | undefined;
      reply.raw.once('close', () => {
        closed = true;
        release?.();
      });
      await authenticate(request);
      const kind = slotKindOf(request);
      const anonymous = request.principal === null;
      const slot = limits.acquire(callerKeyOf(request), kind, anonymous);
      if (!slot.ok) throw refuse(slot.reason, reply, kind);
      if (closed) slot.release();
      else release = slot.release;
    },

    countThrottled(reason) {
      throttled.inc({ reason });
    },

    async tokenCheck(caller, check) {
      if (caller === undefined) return check();
      const slot = limits.acquire(caller, 'request', true);
      if (!slot.ok) throw refuse(slot.reason);
      try {
        return await check();
      } finally {
        slot.release();
      }
    },
  };
}
