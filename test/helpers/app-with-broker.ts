/**
 * The api's fastify app (buildApp) in process, on a stand-in for the broker client whose `call` a test
 * decides: for unit tests of the api's own behaviour (admission, error mapping) without processes.
 */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../api/app.ts';
import type { BrokerClient } from '../../api/broker-client.ts';
import { createApiMetrics } from '../../api/metrics.ts';
import type { TrustedProxies } from '../../api/trusted-proxies.ts';
import type { Outcome } from '../../protocol/outcome.ts';

export type BrokerCall = (
  service: string,
  command: string,
  args: object,
  options: { caller?: string },
) => Promise<Outcome>;

export async function appWithBroker(options: {
  call: BrokerCall;
  trustedProxies?: TrustedProxies;
  requestsPerAddress?: number;
  consoleDir?: string;
}): Promise<{ app: FastifyInstance; metrics: () => Promise<string> }> {
  const metrics = createApiMetrics();
  const broker = {
    call: (service: string, command: string, args: object, callOptions: { caller?: string }) =>
      options.call(service, command, args, callOptions),
  } as unknown as BrokerClient;
  const app = await buildApp({
    broker,
    logger: pino({ level: 'silent' }),
    metrics,
    commandTimeoutMs: 5000,
    adminToken: '',
    authCacheMs: 0,
    streamTimeoutMs: 5000,
    maxFileBytes: 1024 * 1024,
    window: 4,
    chunkBytes: 65536,
    replayBytes: 0,
    readinessTimeoutMs: 100,
    limits: {
      requestsPerCaller: 64,
      transfersPerCaller: 32,
      eventStreamsPerCaller: 8,
      requestsPerAddress: options.requestsPerAddress ?? 32,
      retryAfterS: 1,
    },
    ...(options.trustedProxies === undefined ? {} : { trustedProxies: options.trustedProxies }),
    ...(options.consoleDir === undefined ? {} : { consoleDir: options.consoleDir }),
  });
  return { app, metrics: () => metrics.registry.metrics() };
}
