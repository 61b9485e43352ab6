/** The worker's settings, from environment variables. */
import { integer, loadConfig, text } from '../protocol/process/env.ts';

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
  dataDir: text('DATA_DIR', './data', 'Folder of the filesystem store (used when MINIO_ENDPOINT is empty)'),
  minioEndpoint: text('MINIO_ENDPOINT', '', 'S3/MinIO URL, e.g. http://minio:9000 (empty: filesystem store)'),
  minioAccessKey: text('MINIO_ACCESS_KEY', 'minioadmin', 'S3 access key'),
  minioSecretKey: text('MINIO_SECRET_KEY', 'minioadmin', 'S3 secret key'),
  minioBucket: text('MINIO_BUCKET', 'podstore', 'Bucket holding every pod (created if missing)'),
  minioRegion: text('MINIO_REGION', 'us-east-1', 'S3 region'),
};

export const loadWorkerConfig = (env = process.env) => loadConfig(workerSpec, env);
export type WorkerConfig = ReturnType<typeof loadWorkerConfig>;
