/** The api's settings, from environment variables. */
import { DEFAULT_JSON_MAX_DEPTH, JSON_MAX_DEPTH_CEILING } from '../protocol/json-depth.ts';
import { integer, loadConfig, type Setting, text } from '../runtime/env.ts';
import { sharedSettings } from '../runtime/shared-settings.ts';
import {
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_REQUEST_TIMEOUT_MS,
} from './http-contract.ts';
import { parseTrustedProxies, type TrustedProxies } from './trusted-proxies.ts';

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
  heartbeatMs: sharedSettings.heartbeatMs,
  liveness: sharedSettings.liveness,
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
  maxFileBytes: sharedSettings.maxFileBytes,
  window: sharedSettings.streamWindow,
  chunkBytes: sharedSettings.chunkBytes,
  downloadReopens: integer(
    'DOWNLOAD_REOPEN_ATTEMPTS',
    3,
    'How often a download whose worker died mid-stream is reopened on another worker at the byte reached (0: never)',
    0,
    100,
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
  streamIdleMs: sharedSettings.streamIdleMs,
  graceMs: integer('API_GRACE_MS', 10_000, 'How long SIGTERM waits for in-flight requests', 0, 600_000),
  natsUrl: sharedSettings.natsUrl,
  eventsMaxAgeS: sharedSettings.eventsMaxAgeS,
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
  limitRequestsPerCaller: integer(
    'API_LIMIT_REQUESTS_PER_CALLER',
    64,
    'Requests one authenticated caller may have in flight on this api replica (over it: 429)',
    1,
    1_000_000,
  ),
  limitTransfersPerCaller: integer(
    'API_LIMIT_TRANSFERS_PER_CALLER',
    32,
    'Uploads and downloads one authenticated caller may have in flight on this api replica (over it: 429)',
    1,
    1_000_000,
  ),
  limitEventStreamsPerCaller: integer(
    'API_LIMIT_EVENT_STREAMS_PER_CALLER',
    8,
    'Live event streams one authenticated caller may hold open on this api replica (over it: 429)',
    1,
    1_000_000,
  ),
  limitRequestsPerAddress: integer(
    'API_LIMIT_ANONYMOUS_PER_IP',
    32,
    'Unauthenticated requests (sign-ups, token checks) one client address may have in flight (over it: 429; 0: no limit). Behind a proxy, see API_TRUSTED_PROXIES',
    0,
    1_000_000,
  ),
  limitRetryAfterS: integer(
    'API_LIMIT_RETRY_AFTER_S',
    1,
    'Retry-After, in seconds, of a 429 for a caller over its limits',
    1,
    3600,
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
  trustedProxies: {
    env: 'API_TRUSTED_PROXIES',
    default: '',
    doc: 'Comma list of addresses and CIDR ranges of reverse proxies whose X-Forwarded-For names the client (the right-most entry that is not itself a trusted proxy); empty: trust none',
    parse: parseTrustedProxies,
  } satisfies Setting<TrustedProxies>,
  benchRoutes: sharedSettings.benchRoutes,
  consoleDir: text(
    'CONSOLE_DIR',
    '',
    'Folder of the built web console served at / (empty: console/dist beside the api, as npm run build:console makes it)',
  ),
};

export const loadApiConfig = (env = process.env) => loadConfig(apiSpec, env);
