/**
 * From a route to a worker and back: calls a command through the broker and returns its value, or
 * throws the HttpProblem that the worker's or the broker's error maps to.
 */
import type { FastifyRequest } from 'fastify';
import { type ArgsOf, podOf } from '../protocol/command-args.ts';
import { type CommandName, serviceOf } from '../protocol/commands.ts';
import { BrokerCallError, type BrokerClient } from './broker-client.ts';
import type { BrokerStream } from './files/broker-stream.ts';
import { callerKeyOf } from './limits/admission.ts';
import { fromBrokerError, fromOutcomeError } from './problem.ts';

/** Calls a command of the catalogue (protocol/commands.ts); its service follows from its name. */
export type CallService = <T, C extends CommandName = CommandName>(
  request: FastifyRequest,
  command: C,
  args: ArgsOf<C>,
  options: { idempotent: boolean },
) => Promise<T>;

/** Opens a streamed command (an upload or a download) on behalf of an HTTP request. */
export type OpenStream = <C extends CommandName>(
  request: FastifyRequest,
  command: C,
  args: ArgsOf<C>,
) => BrokerStream;

export function streamOpener(broker: BrokerClient, timeoutMs: number): OpenStream {
  return (request, command, args) =>
    broker.openStream(serviceOf(command), command, args, {
      actor: request.principal ?? null,
      requestId: request.id,
      caller: callerKeyOf(request),
      pod: podOf(args),
      // A stream cannot be replayed on another worker: the bytes already sent are gone.
      idempotent: false,
      timeoutMs,
    });
}

/** The value of a finished stream's outcome, or the HttpProblem its error maps to. */
export async function streamResult<T>(stream: BrokerStream): Promise<T> {
  try {
    const outcome = await stream.result;
    if (!outcome.ok) throw fromOutcomeError(outcome.error);
    return outcome.value as T;
  } catch (err) {
    if (err instanceof BrokerCallError) throw fromBrokerError(err);
    throw err;
  }
}

export function serviceCaller(broker: BrokerClient, timeoutMs: number): CallService {
  return async <T, C extends CommandName = CommandName>(
    request: FastifyRequest,
    command: C,
    args: ArgsOf<C>,
    options: { idempotent: boolean },
  ): Promise<T> => {
    const service = serviceOf(command);
    try {
      const outcome = await broker.call(service, command, args, {
        actor: request.principal ?? null,
        requestId: request.id,
        caller: callerKeyOf(request),
        pod: podOf(args),
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
