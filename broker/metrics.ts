/**
 * The broker's Prometheus metrics, on a registry of its own (served by broker.ts on BROKER_METRICS_PORT).
 */
import { Counter, Gauge, Registry } from 'prom-client';

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
  };
}

export type BrokerMetrics = ReturnType<typeof createBrokerMetrics>;
