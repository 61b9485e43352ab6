/**
 * From a route to a worker and back: calls a command through the broker and returns its value, or
 * throws the HttpProblem that the worker's or the broker's error maps to.
 */
import type { FastifyRequest } from 'fastify';
import { BrokerCallError, type BrokerClient } from './broker-client.ts';
import { fromBrokerError, fromOutcomeError } from './problem.ts';

export type CallService = <T>(
  request: FastifyRequest,
  service: string,
  command: string,
  args: object,
  options: { idempotent: boolean },
) => Promise<T>;

export function serviceCaller(broker: BrokerClient, timeoutMs: number): CallService {
  return async <T>(
    request: FastifyRequest,
    service: string,
    command: string,
    args: object,
    options: { idempotent: boolean },
  ): Promise<T> => {
    try {
      const outcome = await broker.call(service, command, args, {
        actor: request.principal ?? null,
        requestId: request.id,
        idempotent: options.idempotent,
        timeoutMs,
      });
      if (!outcome.ok) throw fromOutcomeError(outcome.error);
      return outcome.value as T;
    } catch (err) {
      if (err instanceof BrokerCallError) throw fromBrokerError(err);
      throw err;
    }
  };
}
