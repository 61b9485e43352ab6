/**
 * The authentication hook: every route needs `Authorization: Bearer <token>` except the operational ones
 * (health, readiness, metrics, API docs), the web console's static files (`/`, `/assets/...`), sign-up
 * (PUT of a user without a token) and the status of an account erasure (its unguessable id is the
 * capability). A token is checked
 * for shape before any round trip; the operator's admin token is recognised in constant time; any other
 * is resolved to its user. Failures are 401 problem+json with `WWW-Authenticate: Bearer`.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { BrokerError } from '../../protocol/frames.ts';
import { ADMIN_ACTOR, isWellFormedToken } from '../../protocol/tokens.ts';
import { BrokerCallError } from '../broker-client.ts';
import { addressCallerKeyOf } from '../limits/admission.ts';
import { fromBrokerError, HttpProblem } from '../problem.ts';
import type { TokenResolver } from './token-resolver.ts';

const PUBLIC_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']);

export interface AuthOptions {
  resolver: TokenResolver;
  /** The operator's token; empty: no admin. */
  adminToken: string;
}

export function authenticator({ resolver, adminToken }: AuthOptions) {
  const admin = Buffer.from(adminToken);
  const isAdmin = (token: string) => {
    const given = Buffer.from(token);
    return admin.length > 0 && given.length === admin.length && timingSafeEqual(given, admin);
  };

  return async (request: FastifyRequest): Promise<void> => {
    const route = request.routeOptions.url;
    if (
      route === undefined ||
      PUBLIC_ROUTES.has(route) ||
      route.startsWith('/docs') ||
      // The web console's page and its assets: the same static files for everyone (api/console/).
      route === '/' ||
      route.startsWith('/assets/') ||
      route.startsWith('/v1/bench/') ||
      // What tus uploads are served: a client asks before it has a token in mind.
      (request.method === 'OPTIONS' && route === '/v1/users/:owner/uploads/') ||
      // What a file path accepts (the same static answer for every path): resumable-upload clients ask first.
      (request.method === 'OPTIONS' && route === '/v1/users/:owner/files/*') ||
      // An erasure's status: its id (random, 122 bits) is the capability, given only to whoever deleted.
      route === '/v1/erasures/:id'
    )
      return;
    const header = request.headers.authorization;
    if (header === undefined) {
      if (request.method === 'PUT' && route === '/v1/users/:username') return; // sign-up
      throw unauthorized('this needs a token: send Authorization: Bearer <token>');
    }
    const token = /^Bearer +(\S+)$/i.exec(header)?.[1];
    if (token === undefined)
      throw unauthorized('the Authorization header must be "Bearer <token>"', 'invalid_request');
    if (isAdmin(token)) {
      request.principal = ADMIN_ACTOR;
      request.credentialsStillValid = async () => true;
      return;
    }
    if (!isWellFormedToken(token)) throw unauthorized('that is not a podstore token', 'invalid_token');
    let username: string | null;
    try {
      username = await resolver.resolve(token, request.id, addressCallerKeyOf(request));
    } catch (err) {
      if (err instanceof HttpProblem) throw err; // its client address is over its limit: 429
      // The broker's per-caller queue bound for this address's token checks: 429 too, not an outage.
      if (err instanceof BrokerCallError && err.code === BrokerError.THROTTLED) throw fromBrokerError(err);
      throw new HttpProblem(503, 'the token could not be checked right now', 1);
    }
    if (username === null) throw unauthorized('the token is unknown, expired or revoked', 'invalid_token');
    request.principal = username;
    // The resolver's answer is cached for at most AUTH_CACHE_MS and dropped at once on a revocation.
    request.credentialsStillValid = async () =>
      (await resolver.resolve(token, request.id, addressCallerKeyOf(request))) === username;
  };
}

function unauthorized(detail: string, error?: 'invalid_request' | 'invalid_token'): HttpProblem {
  const challenge =
    error === undefined ? 'Bearer realm="podstore"' : `Bearer realm="podstore", error="${error}"`;
  return new HttpProblem(401, detail, undefined, { 'www-authenticate': challenge });
}
