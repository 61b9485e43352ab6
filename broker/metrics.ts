/**
 * The broker's Prometheus metrics, on a registry of its own (served by broker.ts on BROKER_METRICS_PORT).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createBrokerMetrics(registry = new Registry()) {
  const prefix = 'podstore_broker_';
  return {
    registry,
    requests: new Counter({
      name: `${prefix}requests_total`,
      help: 'Requests received from clients',
      labelNames: ['service'],
      registers: [registry],
    }),
    dispatched: new Counter({
      name: `${prefix}dispatched_total`,
      help: 'Requests sent to workers (retries count again)',
      labelNames: ['service'],
      registers: [registry],
    }),
    replies: new Counter({
      name: `${prefix}replies_total`,
      help: 'Final replies relayed from workers',
      labelNames: ['service'],
      registers: [registry],
    }),
    errors: new Counter({
      name: `${prefix}errors_total`,
      help: 'Requests the broker answered itself, by error',
      labelNames: ['code'],
      registers: [registry],
    }),
    retried: new Counter({
      name: `${prefix}retried_total`,
      help: 'Idempotent requests re-dispatched after their worker was lost',
      labelNames: ['service'],
      registers: [registry],
    }),
    malformed: new Counter({
      name: `${prefix}malformed_frames_total`,
      help: 'Messages dropped or refused as malformed',
      labelNames: ['side'],
      registers: [registry],
    }),
    transfersParked: new Counter({
      name: `${prefix}transfers_parked_total`,
      help: 'Transfers that gave their worker slot back because nothing moved through them for BROKER_TRANSFER_IDLE_MS',
      registers: [registry],
    }),
    podDispatches: new Counter({
      name: `${prefix}pod_dispatches_total`,
      help: "Dispatches of a pod's commands: to the pod's home worker, or elsewhere because the home was full or above its share of the load",
      labelNames: ['to'],
      registers: [registry],
    }),
    leases: new Counter({
      name: `${prefix}read_leases_total`,
      help: 'Answers of reads that asked for a read lease (decision 0009): granted, or refused because a change of the pod ran while the read did (or a worker was lost recently)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    leaseNotices: new Counter({
      name: `${prefix}lease_invalidations_total`,
      help: 'Invalidations sent to apis that held a read lease of a pod when a change of it was dispatched',
      registers: [registry],
    }),
    workersLost: new Counter({
      name: `${prefix}workers_lost_total`,
      help: 'Workers removed after missing heartbeats',
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: `${prefix}queue_depth`,
      help: 'Requests waiting for a worker',
      labelNames: ['service'],
      registers: [registry],
    }),
    workersAlive: new Gauge({
      name: `${prefix}workers_alive`,
      help: 'Workers registered',
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: `${prefix}requests_in_flight`,
      help: 'Requests queued or running on a worker',
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: `${prefix}request_seconds`,
      help: 'Time from a request to its answer, by service and outcome (reply, or the broker error)',
      labelNames: ['service', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30, 120],
      registers: [registry],
    }),
    lateReplies: new Counter({
      name: `${prefix}late_replies_total`,
      help: 'Final replies dropped because the client was answered already (timeout) or forgotten',
      registers: [registry],
    }),
    sendFailures: new Counter({
      name: `${prefix}send_failures_total`,
      help: 'Messages the broker could not send, by side and reason (peer_gone, peer_full, error)',
      labelNames: ['side', 'reason'],
      registers: [registry],
    }),
  };
}

export type BrokerMetrics = ReturnType<typeof createBrokerMetrics>;
