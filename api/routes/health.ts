/**
 * Liveness, readiness and metrics. /healthz says the process runs; /readyz says it can serve: the broker
 * answers and at least one worker serves `users`.
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { BrokerClient } from '../broker-client.ts';
import { sendProblem } from '../problem.ts';

export function healthRoutes(broker: BrokerClient, registry: Registry, readinessTimeoutMs: number) {
  return async (app: FastifyInstance) => {
    app.get('/healthz', async (_request, reply) => reply.type('text/plain').send(`ALIVE ${hostname()}\n`));

    app.get('/readyz', async (_request, reply) => {
      try {
        const status = await broker.status(readinessTimeoutMs);
        const workers = status.services.users?.workers ?? 0;
        if (workers === 0) return sendProblem(reply, 503, 'no worker serves users');
        return { status: 'ready', workers };
      } catch {
        return sendProblem(reply, 503, 'the broker does not answer');
      }
    });

    app.get('/metrics', async (_request, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
  };
}
