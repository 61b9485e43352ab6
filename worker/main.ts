/** Worker process: configuration in, parts wired, signals handled. */
import { collectDefaultMetrics } from 'prom-client';
import { createLogger } from '../protocol/process/logger.ts';
import { serveMetrics } from '../protocol/process/metrics-server.ts';
import { onShutdown } from '../protocol/process/shutdown.ts';
import { BrokerSession } from './broker-session.ts';
import { loadWorkerConfig } from './config.ts';
import { ScopedCommandRouter } from './events/scoped-command-router.ts';
import { startWorkerEvents } from './events/worker-events.ts';
import { requestExecutor } from './execute-request.ts';
import { FILES_SERVICE, registerFileCommands } from './files/files-commands.ts';
import { FilesService } from './files/files-service.ts';
import { createWorkerMetrics } from './metrics.ts';
import { createObjectStore } from './storage/create-store.ts';
import { registerUserCommands, USERS_SERVICE } from './users/users-commands.ts';
import { UsersService } from './users/users-service.ts';
import { registerWebhookCommands, WEBHOOKS_SERVICE } from './webhooks/webhooks-commands.ts';

const logger = createLogger('worker');
const config = loadWorkerConfig();
const metrics = createWorkerMetrics();
collectDefaultMetrics({ register: metrics.registry });

const store = createObjectStore(config);
await store.init();
logger.info({ store: store.kind }, 'object store ready');

const events = startWorkerEvents(config, store, logger);
const router = new ScopedCommandRouter();
registerUserCommands(router, new UsersService(store, undefined, events.publisher));
registerWebhookCommands(router, events.webhooks);
registerFileCommands(router, new FilesService(store), { ...config, idleMs: config.streamIdleMs });

const session = new BrokerSession(
  { ...config, endpoint: config.broker, services: [USERS_SERVICE, FILES_SERVICE, WEBHOOKS_SERVICE] },
  requestExecutor(router, metrics, logger),
  logger,
);
session.start();
const metricsServer = await serveMetrics(metrics.registry, config.metricsPort, config.metricsHost);

onShutdown(logger, config.graceMs + 2000, async () => {
  await session.stop(config.graceMs);
  await events.stop(config.graceMs);
  metricsServer?.close();
  await store.close();
});
