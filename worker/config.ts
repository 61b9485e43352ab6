/** The worker's settings, from environment variables. */
import { DEFAULT_JSON_MAX_DEPTH, JSON_MAX_DEPTH_CEILING } from '../protocol/json-depth.ts';
import { DEFAULT_MAX_FILE_BYTES } from '../protocol/names.ts';
import { integer, loadConfig, oneOf, text } from '../protocol/process/env.ts';
import { parseAllowList } from './webhooks/ssrf-guard.ts';

export const workerSpec = {
  broker: text('BROKER_BACKEND_URL', 'tcp://127.0.0.1:5556', 'Broker endpoint workers connect to'),
  capacity: integer(
    'WORKER_CAPACITY',
    64,
    'Commands one worker runs at once (transfers not counted)',
    1,
    100_000,
  ),
  transferCapacity: integer(
    'WORKER_TRANSFER_CAPACITY',
    64,
    'Uploads and downloads one worker runs at once, on slots apart from WORKER_CAPACITY',
    1,
    100_000,
  ),
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
  grantDelegationDepth: integer(
    'GRANT_DELEGATION_DEPTH',
    4,
    'Grants by grantees in a row that still count (owner → a → b → c: 2, from a to b and from b to c); a longer chain grants nothing',
    1,
    16,
  ),
  auditRetentionDays: integer(
    'AUDIT_RETENTION_DAYS',
    365,
    'Days an audit log entry is kept (0: for ever); older entries are no longer listed and are deleted',
    0,
    36_500,
  ),
  auditRefusedBurst: integer(
    'AUDIT_REFUSED_BURST',
    10,
    'Refused requests per pod and caller recorded one by one in each window; the rest are counted in summaries',
    0,
    100_000,
  ),
  auditRefusedWindowS: integer(
    'AUDIT_REFUSED_WINDOW_S',
    300,
    'Window of the refused-request burst, in seconds; its summaries are written when it ends',
    1,
    86_400,
  ),
  jsonMaxDepth: integer(
    'JSON_MAX_DEPTH',
    DEFAULT_JSON_MAX_DEPTH,
    'How deep a JSON document in a command may nest objects and arrays (deeper: invalid)',
    1,
    JSON_MAX_DEPTH_CEILING,
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
