/** Worker process: configuration in, parts wired, signals handled. */
import { collectDefaultMetrics } from 'prom-client';
import { createLogger } from '../protocol/process/logger.ts';
import { serveMetrics } from '../protocol/process/metrics-server.ts';
import { onShutdown } from '../protocol/process/shutdown.ts';
import { ACCESS_SERVICE, registerAccessCommands } from './access/access-commands.ts';
import { AccessService } from './access/access-service.ts';
import { AuditLog } from './access/audit-log.ts';
import { GrantStore } from './access/grant-store.ts';
import { GrantsService } from './access/grants-service.ts';
import { TokenService } from './accounts/token-service.ts';
import { BENCH_SERVICE, registerBenchCommands } from './bench-service/bench-commands.ts';
import { BrokerSession } from './broker-session.ts';
import { loadWorkerConfig } from './config.ts';
import { ScopedCommandRouter } from './events/scoped-command-router.ts';
import { startWorkerEvents } from './events/worker-events.ts';
import { requestExecutor } from './execute-request.ts';
import { FILES_SERVICE, registerFileCommands } from './files/files-commands.ts';
import { FilesService } from './files/files-service.ts';
import { HEALTH_SERVICE, registerHealthCommands } from './health/health-commands.ts';
import { StorageHealth } from './health/storage-health.ts';
import { IdempotencyGuard } from './idempotency/idempotency-guard.ts';
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
const users = new UsersService(store, undefined, events.publisher);
const accountSince = async (name: string) => (await users.find(name).catch(() => undefined))?.createdAt;
const audit = new AuditLog(
  store,
  {
    retentionDays: config.auditRetentionDays,
    refusedBurst: config.auditRefusedBurst,
    refusedWindowMs: config.auditRefusedWindowS * 1000,
  },
  undefined,
  accountSince,
);
audit.start();
const access = new AccessService(
  new GrantStore(store),
  audit,
  accountSince,
  undefined,
  config.grantDelegationDepth,
);
const tokens = new TokenService(store, (username, hash) =>
  events.invalidate('token.revoked', username, hash),
);
registerUserCommands(router, users, tokens, config.signup);
registerAccessCommands(
  router,
  new GrantsService(new GrantStore(store), access, accountSince, events.publisher),
  audit,
  access,
  accountSince,
);
registerWebhookCommands(router, events.webhooks);
registerBenchCommands(router);
const idempotency = new IdempotencyGuard(
  store,
  { ttlMs: config.idempotencyTtlS * 1000, leaseMs: config.idempotencyLeaseMs },
  logger,
  metrics.idempotency,
);
registerFileCommands(
  router,
  new FilesService(store, access, events.publisher),
  access,
  { ...config, idleMs: config.streamIdleMs },
  idempotency,
);
const storageHealth = new StorageHealth(store, config.storageCheckMs, logger, metrics.storageUp);
storageHealth.start();
registerHealthCommands(router, storageHealth);

const session = new BrokerSession(
  {
    ...config,
    endpoint: config.broker,
    services: [USERS_SERVICE, FILES_SERVICE, ACCESS_SERVICE, WEBHOOKS_SERVICE, BENCH_SERVICE, HEALTH_SERVICE],
  },
  requestExecutor(router, metrics, logger, config.jsonMaxDepth),
  logger,
  metrics,
);
session.start();
const metricsServer = await serveMetrics(metrics.registry, config.metricsPort, config.metricsHost);

onShutdown(logger, config.graceMs + 2000, async () => {
  await session.stop(config.graceMs);
  storageHealth.stop();
  await events.stop(config.graceMs);
  await audit.stop();
  metricsServer?.close();
  await store.close();
});
