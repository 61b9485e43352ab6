/**
 * An account's storage quota: `GET /v1/users/{name}/quota` shows its usage and limits (the user and the
 * operator); `PUT` sets the operator's override (`{bytes?, files?}`, null for the default) and
 * `POST .../quota/recount` counts the pod again (the operator, with PODSTORE_ADMIN_TOKEN).
 */
import type { FastifyInstance } from 'fastify';
import type { CallService } from '../call-service.ts';
import { quotaSchemas } from '../schemas/quota.ts';

type QuotaRequest = { Params: { username: string } };

export function quotaRoutes(call: CallService) {
  return async (app: FastifyInstance) => {
    app.get<QuotaRequest>(
      '/v1/users/:username/quota',
      { schema: quotaSchemas.get },
      async (request, reply) => {
        const usage = await call(request, 'quota.get', request.params, { idempotent: true });
        return reply.header('cache-control', 'no-store').send(usage);
      },
    );

    app.put<QuotaRequest & { Body: unknown }>(
      '/v1/users/:username/quota',
      { schema: quotaSchemas.put, bodyLimit: 4096 },
      async (request) =>
        call(
          request,
          'quota.put',
          { username: request.params.username, quota: request.body },
          { idempotent: true },
        ),
    );

    app.post<QuotaRequest>(
      '/v1/users/:username/quota/recount',
      { schema: quotaSchemas.recount },
      async (request) => call(request, 'quota.recount', request.params, { idempotent: true }),
    );
  };
}
