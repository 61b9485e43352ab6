/** The api's settings, from environment variables. */
import { DEFAULT_JSON_MAX_DEPTH, JSON_MAX_DEPTH_CEILING } from '../protocol/json-depth.ts';
import { DEFAULT_MAX_FILE_BYTES } from '../protocol/names.ts';
import { flag, integer, loadConfig, text } from '../protocol/process/env.ts';
import {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './http-contract.ts';

export const apiSpec = {
  host: text('API_HOST', '0.0.0.0', 'Address the HTTP api listens on'),
  port: integer('API_PORT', 8080, 'Port the HTTP api listens on', 0, 65535),
  broker: text('BROKER_FRONTEND_URL', 'tcp://127.0.0.1:5555', 'Broker endpoint the api connects to'),
  commandTimeoutMs: integer('COMMAND_TIMEOUT_MS', 30_000, 'Deadline of a metadata command', 100, 600_000),
  readinessTimeoutMs: integer(
    'READINESS_TIMEOUT_MS',
    1000,
    'How long /readyz waits for the broker',
    10,
    60_000,
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
    'API_HWM',
    10_000,
    'ZeroMQ high-water mark (messages) of the api socket',
    1,
    10_000_000,
  ),
  streamTimeoutMs: integer(
    'STREAM_TIMEOUT_MS',
    3_600_000,
    'Deadline of an upload or a download',
    1000,
    86_400_000,
  ),
  maxFileBytes: integer(
    'MAX_FILE_BYTES',
    DEFAULT_MAX_FILE_BYTES,
    'Largest file accepted, in bytes',
    0,
    5 * 1024 ** 4,
  ),
  window: integer('STREAM_WINDOW', 16, 'Data parts of a stream in flight at once (credit window)', 1, 1024),
  chunkBytes: integer(
    'STREAM_CHUNK_BYTES',
    256 * 1024,
    'Largest data part of a stream',
    4096,
    16 * 1024 * 1024,
  ),
  replayBytes: integer(
    'UPLOAD_REPLAY_BYTES',
    1_048_576,
    'An upload body up to this size is kept while it is sent, so it can be sent again if its worker dies',
    0,
    64 * 1024 * 1024,
  ),
  adminToken: text(
    'PODSTORE_ADMIN_TOKEN',
    '',
    'The operator token (admin: creates accounts when PODSTORE_SIGNUP=admin)',
  ),
  authCacheMs: integer(
    'AUTH_CACHE_MS',
    1000,
    'How long a resolved token is trusted before asking again',
    0,
    1000,
  ),
  streamIdleMs: integer('STREAM_IDLE_MS', 30_000, 'A stream idle for this long is abandoned', 100, 3_600_000),
  graceMs: integer('API_GRACE_MS', 10_000, 'How long SIGTERM waits for in-flight requests', 0, 600_000),
  natsUrl: text('NATS_URL', '', 'NATS server URL, e.g. nats://nats:4222 (empty: events off)'),
  eventsMaxAgeS: integer(
    'EVENTS_MAX_AGE_S',
    604_800,
    'How long the event stream keeps events, in seconds (JetStream max age)',
    60,
    31_536_000,
  ),
  sseHeartbeatMs: integer(
    'SSE_HEARTBEAT_MS',
    15_000,
    'Interval of `: ping` comments on idle event streams',
    100,
    600_000,
  ),
  sseMaxBufferBytes: integer(
    'SSE_MAX_BUFFER_BYTES',
    1_048_576,
    'Unsent bytes an event-stream client may fall behind by before it is disconnected',
    1024,
    1_073_741_824,
  ),
  jsonMaxDepth: integer(
    'JSON_MAX_DEPTH',
    DEFAULT_JSON_MAX_DEPTH,
    'How deep a JSON body may nest objects and arrays (deeper: 400)',
    1,
    JSON_MAX_DEPTH_CEILING,
  ),
  headersTimeoutMs: integer(
    'API_HEADERS_TIMEOUT_MS',
    DEFAULT_HEADERS_TIMEOUT_MS,
    'The request line and headers must arrive within this (else 408 and the connection is closed)',
    1000,
    600_000,
  ),
  requestTimeoutMs: integer(
    'API_REQUEST_TIMEOUT_MS',
    DEFAULT_REQUEST_TIMEOUT_MS,
    'A whole request, body included, must arrive within this (0: no limit; else at least API_HEADERS_TIMEOUT_MS)',
    0,
    86_400_000,
  ),
  maxConnectionsPerIp: integer(
    'API_MAX_CONNECTIONS_PER_IP',
    DEFAULT_MAX_CONNECTIONS_PER_IP,
    'Connections one client (an IPv4 address or an IPv6 /64) may hold open; more are closed at once (0: no cap)',
    0,
    1_000_000,
  ),
  benchRoutes: flag('BENCH_ROUTES', false, 'Serve POST /v1/bench/echo and /v1/bench/hash (load tests only)'),
};

export const loadApiConfig = (env = process.env) => loadConfig(apiSpec, env);
