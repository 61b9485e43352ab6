/**
 * `npm run bench [-- --seconds 10 --connections 32 --workers 2 --large-mib 1024]`
 *
 * Starts real MinIO and the local runner (broker, N workers, api) on loopback, then measures in one run
 * each operation through the full stack (HTTP → api → broker → worker → MinIO) and the same operation
 * done directly on MinIO from this process, through the same S3 adapter the workers use, so the cost of
 * the api, the broker hop and the worker is a ratio. Records the peak RSS of every process. Prints a
 * table and writes bench/results/<timestamp>.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { LocalStack } from '../deploy/local/stack.ts';
import { freePort } from '../test/helpers/free-port.ts';
import provision from '../test/helpers/global-setup.ts';
import { startMinio } from '../test/helpers/servers.ts';
import { freePortRange } from '../test/helpers/test-stack.ts';
import { S3ObjectStore } from '../worker/storage/s3-store.ts';
import { peakRssMiB } from './peak-rss.ts';
import { renderReport } from './report.ts';
import { largeTransfer } from './scenarios/large-transfer.ts';
import { smallOps } from './scenarios/small-ops.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    workers: { type: 'string', default: '2' },
    'large-mib': { type: 'string', default: '1024' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const workers = Number(values.workers);
const largeBytes = Number(values['large-mib']) * 2 ** 20;
const log = (line: string) => process.stderr.write(`${line}\n`);

await provision();
const minio = await startMinio();
const bucket = 'bench';
const stack = new LocalStack({
  workers,
  host: '127.0.0.1',
  apiPort: await freePort(),
  frontendPort: await freePort(),
  backendPort: await freePort(),
  brokerMetricsPort: 0,
  workerMetricsBasePort: await freePortRange(workers),
  env: {
    MINIO_ENDPOINT: minio.endpoint,
    MINIO_ACCESS_KEY: minio.accessKey,
    MINIO_SECRET_KEY: minio.secretKey,
    MINIO_BUCKET: bucket,
    LOG_LEVEL: 'warn',
    LOG_PRETTY: 'false',
  },
  stdio: 'pipe',
});
const store = new S3ObjectStore({
  endpoint: minio.endpoint,
  accessKey: minio.accessKey,
  secretKey: minio.secretKey,
  bucket,
  region: 'us-east-1',
});

let report: Awaited<ReturnType<typeof collect>>;
async function collect() {
  await stack.start();
  log(`stack up: ${workers} workers, MinIO at ${minio.endpoint}`);
  const small = await smallOps({ apiUrl: stack.apiUrl, store, connections, seconds, log });
  const large = await largeTransfer({
    apiUrl: stack.apiUrl,
    store,
    owner: 'bench-0',
    bytes: largeBytes,
    log,
  });
  const rss = {
    api: await peakRssMiB(stack.api?.child.pid),
    broker: await peakRssMiB(stack.broker?.child.pid),
    workers: await Promise.all(stack.workers.map((w) => peakRssMiB(w.child.pid))),
  };
  return { small, large, rss };
}
try {
  report = await collect();
} finally {
  await store.close();
  await stack.stop();
  await minio.stop();
}

const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
};
const settings = { workers, connections, seconds, largeMiB: largeBytes / 2 ** 20 };
process.stdout.write(`${renderReport({ machine, settings, ...report })}\n`);
await mkdir(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL(`./results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
await writeFile(
  file,
  `${JSON.stringify({ date: new Date().toISOString(), machine, settings, ...report }, null, 2)}\n`,
);
log(`wrote ${file.pathname}`);
