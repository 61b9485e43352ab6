/** The api's settings, from environment variables. */
import { integer, loadConfig, text } from '../protocol/process/env.ts';

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
  graceMs: integer('API_GRACE_MS', 10_000, 'How long SIGTERM waits for in-flight requests', 0, 600_000),
};

export const loadApiConfig = (env = process.env) => loadConfig(apiSpec, env);
