/** Broker process: configuration in, parts wired, signals handled. The logic is in broker-core.ts. */
import { collectDefaultMetrics } from 'prom-client';
import { createLogger } from '../runtime/logger.ts';
import { serveMetrics } from '../runtime/metrics-server.ts';
import { onShutdown } from '../runtime/shutdown.ts';
import { Broker } from './broker.ts';
import { loadBrokerConfig } from './config.ts';
import { createBrokerMetrics } from './metrics.ts';

const logger = createLogger('broker');
const config = loadBrokerConfig();
const metrics = createBrokerMetrics();
collectDefaultMetrics({ register: metrics.registry });

const broker = new Broker(config, logger, metrics);
await broker.start();
const metricsServer = await serveMetrics(metrics.registry, config.metricsPort, config.metricsHost);

onShutdown(logger, config.graceMs + 2000, async () => {
  await broker.drain(config.graceMs);
  metricsServer?.close();
});
