/**
 * The api's metrics about its broker link: calls by service and outcome, streams in flight, whether the
 * broker answers, and how often calls in flight were failed because the broker went away. Registered on
 * the api's registry (served at /metrics) when one is given.
 */
import { Counter, Gauge, Registry } from 'prom-client';

export function createBrokerLinkMetrics(registry: Registry = new Registry()) {
  return {
    calls: new Counter({
      name: 'podstore_api_broker_calls_total',
      help: 'Commands sent through the broker, by service and outcome (ok, a worker error code, a broker error)',
      labelNames: ['service', 'outcome'],
      registers: [registry],
    }),
    streamsInFlight: new Gauge({
      name: 'podstore_api_streams_in_flight',
      help: 'Uploads and downloads running now',
      registers: [registry],
    }),
    brokerUp: new Gauge({
      name: 'podstore_api_broker_up',
      help: '1 while the broker answers within the liveness window, else 0',
      registers: [registry],
    }),
    lostCalls: new Counter({
      name: 'podstore_api_broker_lost_calls_total',
      help: 'Calls in flight failed at once (503) because the connection to the broker dropped',
      registers: [registry],
    }),
    readCache: new Counter({
      name: 'podstore_api_read_cache_total',
      help: "Pod owners' small-file reads that could be answered from the api's memory under a read lease (decision 0009): hit, or miss (asked the broker)",
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
}

export type BrokerLinkMetrics = ReturnType<typeof createBrokerLinkMetrics>;
