/**
 * Admission of an HTTP request under the per-caller limits (caller-limits.ts): while it is not yet
 * authenticated (the token check included) it holds a slot of its client address; once the principal
 * is known it holds that principal's slots instead, until its response closes (finished, or the client
 * went away). Over a limit: 429 problem+json with Retry-After, counted in
 * `podstore_api_throttled_total{reason}`. Operational routes (health, readiness, metrics) are not limited.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { HttpProblem } from '../problem.ts';
import {
  addressKey,
  type CallerLimitSettings,
  CallerLimits,
  type SlotKind,
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

/** What the request will hold: a transfer (file upload or download), an event stream, or a request. */
export function slotKindOf(request: FastifyRequest): SlotKind {
  const route = request.routeOptions.url;
  if (route === EVENTS_ROUTE && request.method === 'GET') return 'events';
  if (route !== FILES_ROUTE) return 'request';
  if (request.method === 'PUT' || request.method === 'POST') return 'transfer';
  if (request.method !== 'GET') return 'request';
  const path = (request.params as { '*'?: string } | undefined)?.['*'] ?? '';
  const folder = path === '' || path.endsWith('/');
  const metadata = (request.query as Record<string, unknown> | undefined)?.metadata !== undefined;
  return folder || metadata ? 'request' : 'transfer';
}

/** The fairness key the api sends with every command: the principal, or the client's address. */
export function callerKeyOf(request: FastifyRequest): string {
  return request.principal ?? addressKey(request.ip);
}

const messages: Record<ThrottleReason, string> = {
  requests: 'too many requests in flight for this account; retry later',
  transfers: 'too many uploads and downloads in flight for this account; retry later',
  events: 'too many event streams open for this account',
  anonymous: 'too many unauthenticated requests in flight from this address; retry later',
};

export type Admit = (
  request: FastifyRequest,
  reply: FastifyReply,
  authenticate: (request: FastifyRequest) => Promise<void>,
) => Promise<void>;

export function admission(options: AdmissionOptions): Admit {
  const limits = new CallerLimits(options);
  const throttled = new Counter({
    name: 'podstore_api_throttled_total',
    help: 'Requests refused with 429 because their caller was over a limit, by limit',
    labelNames: ['reason'],
    registers: [options.registry],
  });
  const refuse = (reason: ThrottleReason, reply: FastifyReply, kind: SlotKind): HttpProblem => {
    throttled.inc({ reason });
    // An upload's body is left unread: the connection cannot carry another request.
    if (kind === 'transfer') reply.header('connection', 'close');
    return new HttpProblem(429, messages[reason], options.retryAfterS);
  };

  return async (request, reply, authenticate) => {
    const route = request.routeOptions.url;
    if (route !== undefined && UNLIMITED_ROUTES.has(route)) {
      await authenticate(request);
      return;
    }
    const kind = slotKindOf(request);
    const held: (() => void)[] = [];
    let closed = false;
    reply.raw.once('close', () => {
      closed = true;
      for (const release of held.splice(0)) release();
    });
    const hold = (release: () => void) => (closed ? release() : held.push(release));
    // Until the principal is known, the request (and its token check) is its address's.
    const address = addressKey(request.ip);
    const early = limits.acquire(address, 'request', true);
    if (!early.ok) throw refuse(early.reason, reply, kind);
    hold(early.release);
    await authenticate(request);
    if (request.principal === null) return; // stays on its address (sign-up)
    early.release();
    const slot = limits.acquire(request.principal, kind);
    if (!slot.ok) throw refuse(slot.reason, reply, kind);
    hold(slot.release);
  };
}
