/** The broker's settings, from environment variables. */
import { flag, integer, loadConfig, text } from '../runtime/env.ts';
import { sharedSettings } from '../runtime/shared-settings.ts';

/** A whole percentage from 100 up, as a factor (125 → 1.25). */
const percent = (env: string, def: number, doc: string) => {
  const setting = integer(env, def, doc, 100, 10_000);
  return { ...setting, parse: (raw: string) => setting.parse(raw) / 100 };
};

export const brokerSpec = {
  frontend: text('BROKER_FRONTEND', 'tcp://0.0.0.0:5555', 'Where the broker binds for clients (api, CLI)'),
  backend: text('BROKER_BACKEND', 'tcp://0.0.0.0:5556', 'Where the broker binds for workers'),
  heartbeatMs: sharedSettings.heartbeatMs,
  liveness: sharedSettings.liveness,
  maxQueuePerService: integer(
    'BROKER_MAX_QUEUE',
    1000,
    'Requests that may wait per service and lane (token checks, commands, transfers) before 503',
    0,
    1_000_000,
  ),
  maxQueuePerCaller: integer(
    'BROKER_MAX_QUEUE_PER_CALLER',
    64,
    'Requests one caller (principal or client address) may have waiting per service and lane before 429',
    1,
    1_000_000,
  ),
  priorityCommands: {
    ...text(
      'BROKER_PRIORITY_COMMANDS',
      'auth.resolve',
      'Comma list of commands served first, on reserved slots (token checks)',
    ),
    parse: (raw: string) =>
      raw
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== ''),
  },
  priorityReserve: integer(
    'BROKER_PRIORITY_RESERVE',
    8,
    'Slots per worker, beyond its command capacity, that only priority commands may take',
    0,
    100_000,
  ),
  transferIdleMs: integer(
    'BROKER_TRANSFER_IDLE_MS',
    2000,
    'A transfer through which nothing moved for this long gives its worker slot back until it moves again (0: never)',
    0,
    3_600_000,
  ),
  maxTransfersPerWorker: integer(
    'BROKER_MAX_TRANSFERS_PER_WORKER',
    512,
    'Transfers, moving or parked, one worker may hold at most (at least its transfer slots)',
    1,
    1_000_000,
  ),
  podAffinity: flag(
    'BROKER_POD_AFFINITY',
    true,
    "Send a pod's commands to one worker (rendezvous hashing over the live workers) while it may take them",
  ),
  podAffinityBound: percent(
    'BROKER_POD_AFFINITY_BOUND',
    150,
    "A pod's home worker takes its commands while it runs fewer than this percentage of the workers' average load",
  ),
  podChangeBound: percent(
    'BROKER_POD_CHANGE_BOUND',
    150,
    "The same for a pod's commands that change its files (a change run elsewhere costs the home its memory of the pod; higher keeps it longer, at the cost of balance)",
  ),
  placementQuietMs: integer(
    'BROKER_PLACEMENT_QUIET_MS',
    120_000,
    "How long after a worker is lost, and after the broker starts, no pod's home may answer reads from memory (longer than a lost worker may still be writing)",
    0,
    3_600_000,
  ),
  readLeaseMs: integer(
    'BROKER_READ_LEASE_MS',
    0,
    "How long an api may answer a pod owner's read of a small file from its own memory under the broker's read lease (decision 0009; 1000 is a good value); a change of the pod is acknowledged only after every api that holds one has dropped it, or after it ran out. 0 (the default): no leases, every read reaches a worker",
    0,
    60_000,
  ),
  noWorkerGraceMs: integer(
    'BROKER_NO_WORKER_GRACE_MS',
    2000,
    'How long a request waits for a service with no worker',
    0,
    600_000,
  ),
  highWaterMark: integer(
    'BROKER_HWM',
    10_000,
    'ZeroMQ high-water mark (messages) of the broker sockets',
    1,
    10_000_000,
  ),
  maxMessageBytes: integer(
    'BROKER_MAX_MESSAGE_BYTES',
    32 * 1024 * 1024,
    'Largest frame the broker accepts; a peer sending a larger one is disconnected',
    1024,
    1024 ** 3,
  ),
  graceMs: integer(
    'BROKER_GRACE_MS',
    3000,
    'How long SIGTERM lets queued and running requests finish (new ones get 503)',
    0,
    60_000,
  ),
  metricsPort: integer(
    'BROKER_METRICS_PORT',
    9100,
    'Port of the broker Prometheus endpoint (0: off)',
    0,
    65535,
  ),
  metricsHost: text('BROKER_METRICS_HOST', '0.0.0.0', 'Address the broker metrics endpoint binds'),
};

export const loadBrokerConfig = (env = process.env) => loadConfig(brokerSpec, env);
