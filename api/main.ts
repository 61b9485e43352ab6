/** Api process: configuration in, parts wired, signals handled. */
import { createLogger } from '../runtime/logger.ts';
import { onShutdown } from '../runtime/shutdown.ts';
import { buildApp } from './app.ts';
import { BrokerClient } from './broker-client.ts';
import { loadApiConfig } from './config.ts';
import { startApiEvents } from './events/api-events.ts';
import { createApiMetrics } from './metrics.ts';

const logger = createLogger('api');
const config = loadApiConfig();

const metrics = createApiMetrics();
const broker = new BrokerClient(
  { ...config, endpoint: config.broker, readCacheBytes: config.readCacheMb * 1024 * 1024 },
  logger,
  metrics.registry,
);
broker.start();
const events = startApiEvents(config, logger);
const app = await buildApp({
  ...config,
  broker,
  logger,
  metrics,
  events: events?.live,
  invalidations: events?.invalidations,
  limits: {
    requestsPerCaller: config.limitRequestsPerCaller,
    transfersPerCaller: config.limitTransfersPerCaller,
    eventStreamsPerCaller: config.limitEventStreamsPerCaller,
    requestsPerAddress: config.limitRequestsPerAddress,
    retryAfterS: config.limitRetryAfterS,
  },
});
await app.listen({ host: config.host, port: config.port });

onShutdown(logger, config.graceMs + 2000, async () => {
  await app.close();
  await events?.close();
  await broker.close();
});
