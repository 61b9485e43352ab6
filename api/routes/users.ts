/**
 * The users resource: PUT creates or replaces a profile, GET reads it, PATCH merges a JSON merge patch
 * into it, DELETE removes the user and their pod. Validation happens here (400/413/415 before any broker
 * round trip); the worker decides everything else.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MAX_PROFILE_BYTES } from '../../protocol/names.ts';
import type { CallService } from '../call-service.ts';
import { conditionalHeaders, namesOneVersion, noneMatchHits, quoteEtag } from '../etag.ts';
import { HttpProblem } from '../problem.ts';
import { usersSchemas } from '../schemas/users.ts';

interface UserRecord {
  username: string;
  kind: 'person' | 'organization';
  profile: Record<string, unknown>;
  etag: string;
  createdAt: string;
  updatedAt: string;
}

/** The status of an account erasure (GET /v1/erasures/{id}). */
interface ErasureStatus {
  id: string;
  state: 'erasing' | 'done';
  requestedAt: string;
  completedAt: string | null;
  objectsRemoved: number;
}

interface AccountDeletion {
  completed: boolean;
  erasure: ErasureStatus;
}

const MERGE_PATCH = 'application/merge-patch+json';

function requireMediaType(request: FastifyRequest, allowed: string[]): void {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type === undefined || !allowed.includes(type)) {
    throw new HttpProblem(415, `send the body as ${allowed.join(' or ')}`);
  }
}

function sendUser(reply: FastifyReply, user: UserRecord, status = 200) {
  return reply
    .code(status)
    .header('etag', quoteEtag(user.etag))
    .header('last-modified', new Date(user.updatedAt).toUTCString())
    .header('x-podstore-account-kind', user.kind)
    .send(user.profile);
}

function conditions(request: FastifyRequest) {
  // The whole If-Match list: the worker checks every tag (strongly).
  const { ifMatch } = conditionalHeaders(request);
  const ifNoneMatch = request.headers['if-none-match']?.trim() === '*' ? '*' : undefined;
  return {
    ...(ifMatch === undefined ? {} : { ifMatch }),
    ...(ifNoneMatch === undefined ? {} : { ifNoneMatch }),
  };
}

export function usersRoutes(call: CallService) {
  return async (app: FastifyInstance) => {
    app.put<{ Params: { username: string }; Querystring: { kind?: string } }>(
      '/v1/users/:username',
      {
        schema: usersSchemas.put,
        bodyLimit: MAX_PROFILE_BYTES,
        preValidation: async (request) => requireMediaType(request, ['application/json']),
      },
      async (request, reply) => {
        const { username } = request.params;
        const result = await call<{ created: boolean; user: UserRecord; token?: string; tokenId?: string }>(
          request,
          'users.put',
          {
            username,
            profile: request.body,
            ...conditions(request),
            ...(request.query.kind ? { kind: request.query.kind } : {}),
          },
          // Not replayed on another worker: a sign-up issues a token, which must happen once.
          { idempotent: false },
        );
        if (!result.created) return sendUser(reply, result.user);
        // Created: the account and its first token, shown this once.
        const { user } = result;
        return reply
          .code(201)
          .header('location', `/v1/users/${username}`)
          .header('etag', quoteEtag(user.etag))
          .header('cache-control', 'no-store')
          .send({
            username,
            kind: user.kind,
            profile: user.profile,
            token: result.token,
            tokenId: result.tokenId,
          });
      },
    );

    app.get<{ Params: { username: string } }>(
      '/v1/users/:username',
      { schema: usersSchemas.get },
      async (request, reply) => {
        const user = await call<UserRecord>(request, 'users.get', request.params, {
          idempotent: true,
        });
        if (noneMatchHits(request.headers['if-none-match'], user.etag)) {
          return reply.code(304).header('etag', quoteEtag(user.etag)).send();
        }
        return sendUser(reply, user);
      },
    );

    app.patch<{ Params: { username: string } }>(
      '/v1/users/:username',
      {
        schema: usersSchemas.patch,
        bodyLimit: MAX_PROFILE_BYTES,
        preValidation: async (request) => requireMediaType(request, [MERGE_PATCH, 'application/json']),
      },
      async (request, reply) => {
        const { ifMatch } = conditions(request);
        const user = await call<UserRecord>(
          request,
          'users.patch',
          {
            username: request.params.username,
            patch: request.body,
            ...(ifMatch === undefined ? {} : { ifMatch }),
          },
          // A patch applied twice is the same as once only when it is conditional on a version.
          { idempotent: ifMatch !== undefined && namesOneVersion({ ifMatch }) },
        );
        return sendUser(reply, user);
      },
    );

    app.delete<{ Params: { username: string } }>(
      '/v1/users/:username',
      { schema: usersSchemas.delete },
      async (request, reply) => {
        const { ifMatch } = conditions(request);
        const result = await call<AccountDeletion>(
          request,
          'users.delete',
          { username: request.params.username, ...(ifMatch === undefined ? {} : { ifMatch }) },
          { idempotent: true },
        );
        // 204: erased, nothing left, the name free again. 202: the account is gone (its tokens dead, its
        // pod closed) and the erasure goes on, durably; its status is at Location, readable without a token.
        if (result.completed) return reply.code(204).send();
        return reply
          .code(202)
          .header('location', `/v1/erasures/${result.erasure.id}`)
          .header('retry-after', '5')
          .header('cache-control', 'no-store')
          .send(result.erasure);
      },
    );

    app.get<{ Params: { id: string } }>(
      '/v1/erasures/:id',
      { schema: usersSchemas.erasure },
      async (request, reply) => {
        const receipt = await call<ErasureStatus>(
          request,
          'erasure.status',
          { id: request.params.id },
          { idempotent: true },
        );
        return reply.header('cache-control', 'no-store').send(receipt);
      },
    );
  };
}
