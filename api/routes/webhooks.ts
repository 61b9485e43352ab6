/**
 * An owner's webhooks: `PUT /v1/users/{owner}/webhooks/{id}` registers or replaces one
 * (`{url, secret, prefix?, kinds?}`), GET lists them or shows one with its last delivery outcomes
 * (never the secret), DELETE removes one. The worker checks the URL against the SSRF guard. Without
 * NATS there are no deliveries, so these answer 503.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { WebhookView } from '../../protocol/events/webhook.ts';
import type { CallService } from '../call-service.ts';
import { HttpProblem } from '../problem.ts';
import { webhooksSchemas } from '../schemas/webhooks.ts';
import { EVENTS_NEED_NATS } from './events.ts';

type HookParams = { owner: string; id: string };

export function webhooksRoutes(call: CallService, enabled: boolean) {
  return async (app: FastifyInstance) => {
    app.addHook('onRequest', async () => {
      if (!enabled) throw new HttpProblem(503, EVENTS_NEED_NATS);
    });

    app.put<{ Params: HookParams }>(
      '/v1/users/:owner/webhooks/:id',
      {
        schema: webhooksSchemas.put,
        bodyLimit: 16 * 1024,
        preValidation: async (request) => {
          const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
          if (type !== 'application/json') throw new HttpProblem(415, 'send the webhook as application/json');
        },
      },
      async (request, reply) => {
        const { owner, id } = request.params;
        const result = await call<{ created: boolean; webhook: WebhookView }>(
          request,
          'webhooks.put',
          { owner, id, webhook: request.body },
          { idempotent: true },
        );
        if (result.created) reply.header('location', `/v1/users/${owner}/webhooks/${id}`);
        return reply.code(result.created ? 201 : 200).send(result.webhook);
      },
    );

    app.get<{ Params: { owner: string } }>(
      '/v1/users/:owner/webhooks',
      { schema: webhooksSchemas.list },
      async (request) =>
        call(request, 'webhooks.list', { owner: request.params.owner }, { idempotent: true }),
    );

    app.get<{ Params: HookParams }>(
      '/v1/users/:owner/webhooks/:id',
      { schema: webhooksSchemas.get },
      async (request) => call(request, 'webhooks.get', request.params, { idempotent: true }),
    );

    app.delete<{ Params: HookParams }>(
      '/v1/users/:owner/webhooks/:id',
      { schema: webhooksSchemas.delete },
      async (request, reply: FastifyReply) => {
        await call(request, 'webhooks.delete', request.params, { idempotent: true });
        return reply.code(204).send();
      },
    );
  };
}
