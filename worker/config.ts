/** The worker's settings, from environment variables. */
import { DEFAULT_MAX_FILE_BYTES } from '../protocol/names.ts';
import { integer, loadConfig, oneOf, text } from '../protocol/process/env.ts';
import { parseAllowList } from './webhooks/ssrf-guard.ts';

export const workerSpec = {
  broker: text('BROKER_BACKEND_URL', 'tcp://127.0.0.1:5556', 'Broker endpoint workers connect to'),
  capacity: integer('WORKER_CAPACITY', 64, 'Commands one worker runs at once', 1, 100_000),
  heartbeatMs: integer(
    'HEARTBEAT_INTERVAL_MS',
    1000,
    'Heartbeat interval between broker and workers',
    50,
    60_000,
  ),
  liveness: integer('HEARTBEAT_LIVENESS', 3, 'Missed heartbeats before a peer is taken for dead', 1, 100),
  highWaterMark: integer(
    'WORKER_HWM',
    10_000,
    'ZeroMQ high-water mark (messages) of the worker socket',
    1,
    10_000_000,
  ),
  graceMs: integer('WORKER_GRACE_MS', 20_000, 'How long SIGTERM waits for in-flight commands', 0, 600_000),
  metricsPort: integer(
    'WORKER_METRICS_PORT',
    9101,
    'Port of the worker Prometheus endpoint (0: off)',
    0,
    65535,
  ),
  metricsHost: text('WORKER_METRICS_HOST', '0.0.0.0', 'Address the worker metrics endpoint binds'),
  maxFileBytes: integer(
    'MAX_FILE_BYTES',
    DEFAULT_MAX_FILE_BYTES,
    'Largest file accepted, in bytes',
    0,
    5 * 1024 ** 4,
  ),
  uploadWindow: integer(
    'STREAM_WINDOW',
    16,
    'Data parts of a stream in flight at once (credit window)',
    1,
    1024,
  ),
  chunkBytes: integer(
    'STREAM_CHUNK_BYTES',
    256 * 1024,
    'Largest data part of a stream',
    4096,
    16 * 1024 * 1024,
  ),
  streamIdleMs: integer('STREAM_IDLE_MS', 30_000, 'A stream idle for this long is abandoned', 100, 3_600_000),
  storageCheckMs: integer(
    'STORAGE_CHECK_MS',
    2000,
    'How often a worker pings the object store for /readyz (a ping slower than this counts as down)',
    100,
    600_000,
  ),
  idempotencyTtlS: integer(
    'IDEMPOTENCY_TTL_S',
    86_400,
    'How long an Idempotency-Key and its first result are kept, in seconds',
    1,
    31_536_000,
  ),
  idempotencyLeaseMs: integer(
    'IDEMPOTENCY_LEASE_MS',
    5000,
    'How long a running POST holds its Idempotency-Key without renewal (a dead worker frees it after this)',
    300,
    600_000,
  ),
  erasureInlineMs: integer(
    'ERASURE_INLINE_MS',
    10_000,
    'How long DELETE of an account works on its erasure before answering 202 (the rest goes on in the background)',
    0,
    600_000,
  ),
  erasureSettleMs: integer(
    'ERASURE_SETTLE_MS',
    2000,
    'How long after an account is gone its pod is swept a last time before the name is free again',
    100,
    600_000,
  ),
  erasureLeaseMs: integer(
    'ERASURE_LEASE_MS',
    30_000,
    'How long a worker holds an erasure without renewing it (after that, another worker resumes it)',
    1000,
    3_600_000,
  ),
  erasureScanMs: integer(
    'ERASURE_SCAN_MS',
    15_000,
    'How often each worker looks for erasures that nobody runs and resumes them',
    100,
    3_600_000,
  ),
  erasurePageSize: integer(
    'ERASURE_PAGE_SIZE',
    1000,
    'Objects an erasure lists and deletes per step',
    1,
    1000,
  ),
  erasureReceiptTtlS: integer(
    'ERASURE_RECEIPT_TTL_S',
    2_592_000,
    'How long the status of a completed erasure stays readable, in seconds',
    60,
    315_360_000,
  ),
  signup: oneOf(
    'PODSTORE_SIGNUP',
    'open',
    'Who creates accounts: open (anyone) or admin (the admin token only)',
    ['open', 'admin'] as const,
  ),
  dataDir: text('DATA_DIR', './data', 'Folder of the filesystem store (used when MINIO_ENDPOINT is empty)'),
  minioEndpoint: text('MINIO_ENDPOINT', '', 'S3/MinIO URL, e.g. http://minio:9000 (empty: filesystem store)'),
  minioAccessKey: text('MINIO_ACCESS_KEY', 'minioadmin', 'S3 access key'),
  minioSecretKey: text('MINIO_SECRET_KEY', 'minioadmin', 'S3 secret key'),
  minioBucket: text('MINIO_BUCKET', 'podstore', 'Bucket holding every pod (created if missing)'),
  minioRegion: text('MINIO_REGION', 'us-east-1', 'S3 region'),
  natsUrl: text('NATS_URL', '', 'NATS server URL, e.g. nats://nats:4222 (empty: events off)'),
  eventsMaxAgeS: integer(
    'EVENTS_MAX_AGE_S',
    604_800,
    'How long the event stream keeps events, in seconds (JetStream max age)',
    60,
    31_536_000,
  ),
  webhookAllowHosts: {
    ...text(
      'WEBHOOK_ALLOW_HOSTS',
      '',
      'Comma list of host[:port] or CIDRs that webhooks may reach although private or loopback',
    ),
    parse: (raw: string) => {
      parseAllowList(raw); // refuses a bad entry at start-up, with the other configuration errors
      return raw;
    },
  },
  webhookTimeoutMs: integer(
    'WEBHOOK_TIMEOUT_MS',
    5000,
    'Deadline of one webhook delivery attempt',
    100,
    120_000,
  ),
  webhookMaxAttempts: integer(
    'WEBHOOK_MAX_ATTEMPTS',
    6,
    'Delivery attempts of one event to one webhook',
    1,
    50,
  ),
  webhookRetryBaseMs: integer(
    'WEBHOOK_RETRY_BASE_MS',
    1000,
    'Delay before the first webhook retry; each next one waits 4 times longer (at most 1 h)',
    10,
    3_600_000,
  ),
};

export const loadWorkerConfig = (env = process.env) => loadConfig(workerSpec, env);
export type WorkerConfig = ReturnType<typeof loadWorkerConfig>;
