/**
 * Liveness, readiness and metrics. /healthz says the process runs; /readyz says it can serve: the broker
 * answers, at least one worker serves `users`, and the object store answers (as a worker last saw it:
 * the `health.storage` command is answered from the worker's memory, and the broker sends it even when
 * every worker is busy, so readiness reflects the storage, not the load).
 */

import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { serviceOf } from '../../protocol/commands.ts';
import type { BrokerClient } from '../broker-client.ts';
import { sendProblem } from '../problem.ts';
import { healthSchemas } from '../schemas/health.ts';

/** Served by every worker (worker/health/health-commands.ts). */

interface StorageAnswer {
  storage: 'ok' | 'unavailable';
  detail: string;
}

export function healthRoutes(broker: BrokerClient, registry: Registry, readinessTimeoutMs: number) {
  return async (app: FastifyInstance) => {
    app.get('/healthz', { schema: healthSchemas.healthz }, async (_request, reply) =>
      reply.type('text/plain').send(`ALIVE ${hostname()}\n`),
    );

    app.get('/readyz', { schema: healthSchemas.readyz }, async (request, reply) => {
      const [status, storage] = await Promise.allSettled([
        broker.status(readinessTimeoutMs),
        broker.call(
          serviceOf('health.storage'),
          'health.storage',
          {},
          { actor: null, requestId: request.id, idempotent: true, timeoutMs: readinessTimeoutMs },
        ),
      ]);
      if (status.status === 'rejected') return sendProblem(reply, 503, 'the broker does not answer', 1);
      const workers = status.value.services.users?.workers ?? 0;
      if (workers === 0) return sendProblem(reply, 503, 'no worker serves users', 1);
      if (storage.status === 'rejected' || !storage.value.ok) {
        return sendProblem(reply, 503, 'no worker answers the storage check', 1);
      }
      const answer = storage.value.value as StorageAnswer;
      if (answer.storage !== 'ok') return sendProblem(reply, 503, `storage unavailable: ${answer.detail}`, 1);
      return { status: 'ready', workers };
    });

    app.get('/metrics', { schema: healthSchemas.metrics }, async (_request, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
  };
}
