/**
 * `npm start [-- --workers N] [--apis M]`: the local runner. Starts broker, N workers (default 2, or
 * WORKERS) and M apis (default 1, or APIS) as real processes, the same topology as
 * `docker compose up --scale worker=N` (compose runs 2 apis behind nginx). One api listens on API_PORT
 * (default 8080) itself; several sit behind a round-robin proxy on API_PORT, api i on API_PORT + i.
 * Storage is ./data unless MINIO_ENDPOINT is set. NATS (events, webhooks, file processing) is NATS_URL's,
 * else a nats-server the runner starts itself when it finds one (local-nats.ts). Ctrl-C or SIGTERM stops
 * everything gracefully.
 */
import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createLogger } from '../../runtime/logger.ts';
import { planNats } from './local-nats.ts';
import { type NatsServer, startNats } from './servers.ts';
import { LocalStack } from './stack.ts';

const { values } = parseArgs({
  options: { workers: { type: 'string' }, apis: { type: 'string' } },
  allowPositionals: false,
});
const count = (option: string, raw: string, max: number): number => {
  const n = Number(raw);
  if (Number.isInteger(n) && n >= 1 && n <= max) return n;
  console.error(`--${option} takes a whole number from 1 to ${max}`);
  process.exit(2);
};
const workers = count('workers', values.workers ?? process.env.WORKERS ?? '2', 64);
const apis = count('apis', values.apis ?? process.env.APIS ?? '1', 16);
const logger = createLogger('runner');
const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

// Events, webhooks and file processing need NATS: the one NATS_URL names, else a nats-server of our own.
const natsPlan = planNats(process.env);
let nats: NatsServer | undefined;
if (natsPlan.kind === 'own') {
  await mkdir(natsPlan.storeDir, { recursive: true });
  nats = await startNats({ jetstream: true, binary: natsPlan.binary, storeDir: natsPlan.storeDir });
  logger.info({ nats: nats.url, binary: natsPlan.binary, data: natsPlan.storeDir }, 'nats-server started');
} else if (natsPlan.kind === 'none') {
  logger.warn(`running without NATS: no events, webhooks or file processing (${natsPlan.why})`);
}

const stack = new LocalStack({
  workers,
  apis,
  host: process.env.LOCAL_HOST ?? '127.0.0.1',
  apiPort: port('API_PORT', 8080),
  frontendPort: port('BROKER_FRONTEND_PORT', 5555),
  backendPort: port('BROKER_BACKEND_PORT', 5556),
  brokerMetricsPort: port('BROKER_METRICS_PORT', 9100),
  workerMetricsBasePort: port('WORKER_METRICS_PORT', 9101),
  env: nats === undefined ? {} : { NATS_URL: nats.url },
  stdio: 'inherit',
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping podstore');
    // NATS last: the workers publish their last events and finish their jobs' acknowledgements first.
    stack
      .stop('SIGTERM')
      .then(() => nats?.stop())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'stopping failed');
          process.exit(1);
        },
      );
  });
}

try {
  await stack.start();
  logger.info(
    {
      api: stack.apiUrl,
      ...(apis > 1 ? { replicas: stack.apiUrls } : {}),
      workers,
      storage: process.env.MINIO_ENDPOINT || (process.env.DATA_DIR ?? './data'),
      nats: nats?.url ?? (natsPlan.kind === 'given' ? natsPlan.url : 'none'),
    },
    'podstore is up',
  );
} catch (err) {
  logger.error({ err: (err as Error).message }, 'podstore did not start');
  await stack.stop('SIGKILL');
  await nats?.stop();
  process.exit(1);
}
