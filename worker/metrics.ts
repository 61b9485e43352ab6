/** The worker's Prometheus metrics, on a registry of its own. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createWorkerMetrics(registry = new Registry()) {
  const prefix = 'podstore_worker_';
  return {
    registry,
    commands: new Counter({
      name: `${prefix}commands_total`,
      help: 'Commands executed, by command and outcome code',
      labelNames: ['command', 'outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: `${prefix}command_seconds`,
      help: 'Command execution time',
      labelNames: ['command'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    inFlight: new Gauge({ name: `${prefix}in_flight`, help: 'Commands running now', registers: [registry] }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
