/** Worker process: configuration in, parts wired, signals handled. */
import { collectDefaultMetrics } from 'prom-client';
import { createLogger } from '../runtime/logger.ts';
import { serveMetrics } from '../runtime/metrics-server.ts';
import { onShutdown } from '../runtime/shutdown.ts';
import { ACCESS_SERVICE, registerAccessCommands } from './access/access-commands.ts';
import { AccessService } from './access/access-service.ts';
import { auditFailureReporter } from './access/audit-failures.ts';
import { AuditLog } from './access/audit-log.ts';
import { GrantStore } from './access/grant-store.ts';
import { GrantsService } from './access/grants-service.ts';
import { TokenService } from './accounts/token-service.ts';
import { BENCH_SERVICE, registerBenchCommands } from './bench-service/bench-commands.ts';
import { BrokerSession } from './broker-session.ts';
import { loadWorkerConfig } from './config.ts';
import { ErasureRecords } from './erasure/erasure-records.ts';
import { ErasureService } from './erasure/erasure-service.ts';
import { ErasureSweeper } from './erasure/erasure-sweeper.ts';
import { ScopedCommandRouter } from './events/scoped-command-router.ts';
import { startWorkerEvents } from './events/worker-events.ts';
import { requestExecutor } from './execute-request.ts';
import { BlobIntents } from './files/blob-intents.ts';
import { FILES_SERVICE, registerFileCommands } from './files/files-commands.ts';
import { FilesService } from './files/files-service.ts';
import { RecordCache } from './files/record-cache.ts';
import { HEALTH_SERVICE, registerHealthCommands } from './health/health-commands.ts';
import { StorageHealth } from './health/storage-health.ts';
import { IdempotencyGuard } from './idempotency/idempotency-guard.ts';
import { createWorkerMetrics } from './metrics.ts';
import { PeriodicSweep } from './periodic-sweep.ts';
import { PreviewService } from './processing/preview-service.ts';
import { PREVIEW_SIZES } from './processing/preview-sizes.ts';
import { ProcessingBackfill } from './processing/processing-backfill.ts';
import { defaultLimits } from './processing/processing-limits.ts';
import { ProcessingPipeline } from './processing/processing-pipeline.ts';
import { ProcessingSandbox } from './processing/processing-sandbox.ts';
import { mediaToolkit } from './processing/processing-toolkit.ts';
import { registerQuotaCommands } from './quota/quota-commands.ts';
import { UsageLedger } from './quota/usage-ledger.ts';
import { WriteQuota } from './quota/write-quota.ts';
import { PodIndexStore } from './search/pod-index-store.ts';
import { PodIndexer } from './search/pod-indexer.ts';
import { registerSearchCommands } from './search/search-commands.ts';
import { SearchService } from './search/search-service.ts';
import { countedStore } from './storage/counted-store.ts';
import { createObjectStore } from './storage/create-store.ts';
import { initWhenReachable } from './storage/init-when-reachable.ts';
import { SweepTurns } from './sweep-turns.ts';
import { registerUploadCommands } from './uploads/uploads-commands.ts';
import { UploadsService } from './uploads/uploads-service.ts';
import { accountSinceOf } from './users/account-since.ts';
import { IncarnationReader, PodWriteGuard } from './users/incarnation.ts';
import { registerUserCommands, USERS_SERVICE } from './users/users-commands.ts';
import { profileKey, UsersService } from './users/users-service.ts';
import { registerWebhookCommands, WEBHOOKS_SERVICE } from './webhooks/webhooks-commands.ts';

const logger = createLogger('worker');
const config = loadWorkerConfig();
const metrics = createWorkerMetrics();
collectDefaultMetrics({ register: metrics.registry });

const store = countedStore(createObjectStore(config), metrics.storageRequests);
await initWhenReachable(store, (error, attempt, delayMs) =>
  logger.warn(
    { store: store.kind, attempt, retryInMs: delayMs, err: error.message },
    'object store not reachable yet',
  ),
);
logger.info({ store: store.kind }, 'object store ready');

const accounts = new IncarnationReader(store);
const podWrites = new PodWriteGuard(accounts, config.erasureSettleMs);
const processingLimits = {
  ...defaultLimits,
  maxInputBytes: config.processingMaxInputBytes,
  maxPixels: config.processingMaxPixels,
  maxPdfPages: config.processingMaxPdfPages,
  timeoutMs: config.processingTimeoutMs,
  maxMemoryMb: config.processingMaxMemoryMb,
};
const sandbox = new ProcessingSandbox(processingLimits, { nice: config.processingNice });
/** Processing jobs travel on NATS: without it no file is ever processed (nor indexed for search). */
const processingOn = config.natsUrl !== '';
const searchIndexes = new PodIndexStore(store, config.searchCachePods, config.searchCacheBytes);
const pipeline = new ProcessingPipeline(
  store,
  podWrites,
  mediaToolkit(processingLimits, sandbox),
  new PodIndexer(store, searchIndexes, podWrites, {
    maxTextChars: config.searchMaxTextChars,
    maxShardBytes: config.searchMaxShardBytes,
  }),
  logger,
);
const events = startWorkerEvents(
  config,
  store,
  logger,
  {
    pipeline,
    settings: {
      concurrency: config.processingConcurrency,
      maxAttempts: config.processingMaxAttempts,
      ackWaitMs: config.processingAckWaitMs,
      retryBaseMs: config.processingRetryBaseMs,
    },
    hooks: {
      giveUp: (owner, path, reason) => pipeline.markFailed(owner, path, reason),
      onJob: (result, seconds, lag) => {
        metrics.processingJobs.inc({ result });
        if (result !== 'retry') metrics.processingSeconds.observe(seconds);
        metrics.processingLag.observe(lag);
      },
    },
  },
  podWrites,
);
const router = new ScopedCommandRouter();
const recordCacheReads = {
  hit: metrics.recordCache.labels({ outcome: 'hit' }),
  miss: metrics.recordCache.labels({ outcome: 'miss' }),
  shared: metrics.recordCache.labels({ outcome: 'shared' }),
};
const recordCache =
  config.recordCacheMb === 0
    ? undefined
    : new RecordCache(config.recordCacheMb * 1024 * 1024, undefined, {
        count: (outcome) => recordCacheReads[outcome].inc(),
      });
const users = new UsersService(
  store,
  undefined,
  events.publisher,
  recordCache === undefined ? undefined : { cache: recordCache, guard: podWrites },
);
const accountSince = accountSinceOf(users);
const audit = new AuditLog(
  store,
  {
    retentionDays: config.auditRetentionDays,
    refusedBurst: config.auditRefusedBurst,
    refusedWindowMs: config.auditRefusedWindowS * 1000,
  },
  undefined,
  accountSince,
  auditFailureReporter(logger, metrics.auditOwed),
);
audit.start();
const access = new AccessService(
  new GrantStore(store, podWrites),
  audit,
  accountSince,
  undefined,
  config.grantDelegationDepth,
);
const tokens = new TokenService(store, (username, hash) =>
  events.invalidate('token.revoked', username, hash),
);
const erasureRecords = new ErasureRecords(store);
const erasure = new ErasureService(
  store,
  erasureRecords,
  tokens,
  events.publisher,
  (owner) => events.forgetOwner(owner),
  {
    settleMs: config.erasureSettleMs,
    leaseMs: config.erasureLeaseMs,
    pageSize: config.erasurePageSize,
  },
  logger,
  metrics.erasures,
);
const erasureSweeper = new ErasureSweeper(
  erasure,
  erasureRecords,
  { scanMs: config.erasureScanMs, receiptTtlMs: config.erasureReceiptTtlS * 1000 },
  logger,
  metrics.erasures.pending,
);
registerUserCommands(router, users, tokens, config.signup, erasure, config.erasureInlineMs, (name) =>
  podWrites.forget(name),
);
const usage = new UsageLedger(store, {
  defaults: { bytes: config.quotaDefaultBytes, files: config.quotaDefaultFiles },
  reserveStepBytes: config.quotaReserveStepBytes,
  reservationTtlMs: config.quotaReservationTtlMs,
});
registerQuotaCommands(router, usage, async (name) => (await store.head(profileKey(name))) !== undefined);
registerAccessCommands(
  router,
  new GrantsService(
    new GrantStore(store, podWrites),
    access,
    accountSince,
    events.publisher,
    undefined,
    (owner) => uploads.dropUnfinishable(owner),
  ),
  audit,
  access,
  accountSince,
  accounts,
);
registerWebhookCommands(router, events.webhooks);
if (config.benchService) registerBenchCommands(router);
const idempotency = new IdempotencyGuard(
  store,
  { ttlMs: config.idempotencyTtlS * 1000, leaseMs: config.idempotencyLeaseMs },
  logger,
  metrics.idempotency,
  undefined,
  accounts,
);
const blobIntents = new BlobIntents(store, config.blobSweepGraceMs);
const blobSweeper = new PeriodicSweep({
  name: 'blob sweep',
  sweep: () => blobIntents.sweep(),
  everyMs: config.blobSweepMs,
  logger,
  counter: metrics.orphanBlobsRemoved,
  turns: new SweepTurns(store, 'blob-sweep', { everyMs: config.blobSweepMs }),
});
const files = new FilesService(store, access, events.publisher, undefined, podWrites, new WriteQuota(usage), {
  inlineMaxBytes: config.inlineMaxBytes,
  blobIntents,
  ...(recordCache === undefined ? {} : { recordCache }),
});
const streamSettings = { ...config, idleMs: config.streamIdleMs };
registerFileCommands(
  router,
  files,
  access,
  streamSettings,
  idempotency,
  // Without NATS no processing job is ever made: no file has a processing state, previews and search are off.
  processingOn
    ? new PreviewService(store, files, PREVIEW_SIZES, {
        afterMs: config.processingRequeueAfterMs,
        ask: (owner, path, etag) => events.requeueProcessing(owner, path, etag),
      })
    : undefined,
);
registerSearchCommands(
  router,
  new SearchService(store, searchIndexes, access, accounts, undefined, processingOn),
  access,
);
const uploads = new UploadsService(store, files, accountSince, {
  ttlMs: config.uploadExpiryS * 1000,
  segmentBytes: config.uploadSegmentBytes,
  maxOpenPerCaller: config.uploadsPerCaller,
  maxFileBytes: config.maxFileBytes,
});
registerUploadCommands(router, uploads, access, streamSettings);
const uploadSweeper = new PeriodicSweep({
  name: 'upload sweep',
  sweep: () => uploads.sweep(),
  everyMs: config.uploadSweepMs,
  logger,
  counter: metrics.expiredUploadsRemoved,
  turns: new SweepTurns(store, 'upload-sweep', { everyMs: config.uploadSweepMs }),
});
const backfill = new ProcessingBackfill(
  store,
  (owner, path, etag) => events.requeueProcessing(owner, path, etag),
  {
    afterMs: config.processingRequeueAfterMs,
    perSecond: config.processingBackfillPerSecond,
  },
);
const processingBackfill = new PeriodicSweep({
  name: 'processing backfill',
  sweep: (signal) => backfill.sweep(signal),
  // Only where this worker processes files (events on, processing on).
  everyMs: config.natsUrl !== '' && config.processingConcurrency > 0 ? config.processingBackfillMs : 0,
  logger,
  counter: metrics.processingBackfilled,
  countsAs: 'requeued',
  turns: new SweepTurns(store, 'processing-backfill', { everyMs: config.processingBackfillMs }),
});
const storageHealth = new StorageHealth(store, config.storageCheckMs, logger, metrics.storageUp);
storageHealth.start();
erasureSweeper.start();
blobSweeper.start();
uploadSweeper.start();
processingBackfill.start();
registerHealthCommands(router, storageHealth);

const session = new BrokerSession(
  {
    ...config,
    endpoint: config.broker,
    services: [
      USERS_SERVICE,
      FILES_SERVICE,
      ACCESS_SERVICE,
      WEBHOOKS_SERVICE,
      ...(config.benchService ? [BENCH_SERVICE] : []),
      HEALTH_SERVICE,
    ],
  },
  requestExecutor(router, metrics, logger, config.jsonMaxDepth, (pod, placement) =>
    recordCache?.admit(pod, placement),
  ),
  logger,
  metrics,
);
session.start();
const metricsServer = await serveMetrics(metrics.registry, config.metricsPort, config.metricsHost);

onShutdown(logger, config.graceMs + 2000, async () => {
  erasureSweeper.stop();
  blobSweeper.stop();
  uploadSweeper.stop();
  processingBackfill.stop();
  await session.stop(config.graceMs);
  storageHealth.stop();
  await events.stop(config.graceMs);
  await sandbox.close();
  await audit.stop();
  metricsServer?.close();
  await store.close();
});
