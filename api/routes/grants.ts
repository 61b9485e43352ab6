/**
 * Grants of a pod: `PUT .../grants/{grantee}` with `{modes, scope, expiresAt?}` sets one scope (no modes
 * removes it) or with `{scopes: [...]}` replaces all; GET one or all; DELETE revokes. And the pod's
 * audit log, newest first. The worker decides who may do which.
 */
import type { FastifyInstance } from 'fastify';
import type { CallService } from '../call-service.ts';
import { HttpProblem } from '../problem.ts';
import { grantsSchemas } from '../schemas/grants.ts';

type GrantRequest = { Params: { owner: string; grantee: string } };
type PageQuery = { Params: { owner: string }; Querystring: { cursor?: string; limit?: string } };

function limitOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new HttpProblem(400, 'limit is a whole number from 1 to 1000');
  return limit;
}

export function grantsRoutes(call: CallService) {
  return async (app: FastifyInstance) => {
    app.put<GrantRequest & { Body: unknown }>(
      '/v1/users/:owner/grants/:grantee',
      { schema: grantsSchemas.put },
      async (request) =>
        call(request, 'grants.put', { ...request.params, grant: request.body }, { idempotent: true }),
    );

    app.get<GrantRequest>(
      '/v1/users/:owner/grants/:grantee',
      { schema: grantsSchemas.get },
      async (request) => call(request, 'grants.get', request.params, { idempotent: true }),
    );

    app.get<GrantRequest>('/v1/users/:owner/grants', { schema: grantsSchemas.list }, async (request) => ({
      grants: await call(request, 'grants.list', { owner: request.params.owner }, { idempotent: true }),
    }));

    app.delete<GrantRequest>(
      '/v1/users/:owner/grants/:grantee',
      { schema: grantsSchemas.delete },
      async (request, reply) => {
        await call(request, 'grants.delete', request.params, { idempotent: true });
        return reply.code(204).send();
      },
    );

    app.get<PageQuery>('/v1/users/:owner/audit', { schema: grantsSchemas.audit }, async (request) => {
      const limit = limitOf(request.query.limit);
      return call(
        request,
        'audit.list',
        {
          owner: request.params.owner,
          ...(request.query.cursor === undefined ? {} : { cursor: request.query.cursor }),
          ...(limit === undefined ? {} : { limit }),
        },
        { idempotent: true },
      );
    });
  };
}
