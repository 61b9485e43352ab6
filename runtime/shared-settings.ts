/**
 * Settings that more than one process reads, declared once: the broker and its peers must agree on
 * heartbeats, the api and the worker on stream windows, chunks and file sizes, and both on NATS. Each
 * process's config.ts takes these declarations as they are, so a default, a bound or a meaning cannot
 * differ between two processes (docs/configuration.md shows who reads what).
 */
import { DEFAULT_MAX_FILE_BYTES } from '../protocol/names.ts';
import { flag, integer, text } from './env.ts';

export const sharedSettings = {
  heartbeatMs: integer(
    'HEARTBEAT_INTERVAL_MS',
    1000,
    'Heartbeat interval between broker and workers',
    50,
    60_000,
  ),
  liveness: integer('HEARTBEAT_LIVENESS', 3, 'Missed heartbeats before a peer is taken for dead', 1, 100),
  maxFileBytes: integer(
    'MAX_FILE_BYTES',
    DEFAULT_MAX_FILE_BYTES,
    'Largest file accepted, in bytes',
    0,
    5 * 1024 ** 4,
  ),
  streamWindow: integer(
    'STREAM_WINDOW',
    16,
    'Data parts of a stream in flight at once (credit window)',
    1,
    1024,
  ),
  chunkBytes: integer(
    'STREAM_CHUNK_BYTES',
    256 * 1024,
    "Size of a stream's data parts (a part ends with the first read that reaches it)",
    4096,
    16 * 1024 * 1024,
  ),
  streamIdleMs: integer('STREAM_IDLE_MS', 30_000, 'A stream idle for this long is abandoned', 100, 3_600_000),
  natsUrl: text('NATS_URL', '', 'NATS server URL, e.g. nats://nats:4222 (empty: events off)'),
  eventsMaxAgeS: integer(
    'EVENTS_MAX_AGE_S',
    604_800,
    'How long the event stream keeps events, in seconds (JetStream max age)',
    60,
    31_536_000,
  ),
  benchRoutes: flag('BENCH_ROUTES', false, 'Serve POST /v1/bench/echo and /v1/bench/hash (load tests only)'),
};
