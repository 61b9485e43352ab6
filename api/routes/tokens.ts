/** A user's access tokens: issue (the secret is shown once), list (never the secrets), revoke. */
import type { FastifyInstance } from 'fastify';
import type { CallService } from '../call-service.ts';
import { tokensSchemas } from '../schemas/tokens.ts';

type Params = { Params: { username: string; id: string } };

export function tokensRoutes(call: CallService) {
  return async (app: FastifyInstance) => {
    app.post<Params & { Body: { label?: string; expiresAt?: string | null } }>(
      '/v1/users/:username/tokens',
      { schema: tokensSchemas.issue },
      async (request, reply) => {
        const issued = await call(
          request,
          'tokens.issue',
          { username: request.params.username, ...(request.body ?? {}) },
          { idempotent: false },
        );
        return reply.code(201).send(issued);
      },
    );

    app.get<Params>('/v1/users/:username/tokens', { schema: tokensSchemas.list }, async (request) => ({
      tokens: await call(request, 'tokens.list', { username: request.params.username }, { idempotent: true }),
    }));

    app.delete<Params>(
      '/v1/users/:username/tokens/:id',
      { schema: tokensSchemas.revoke },
      async (request, reply) => {
        await call(request, 'tokens.revoke', request.params, { idempotent: true });
        return reply.code(204).send();
      },
    );
  };
}
