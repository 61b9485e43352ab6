/**
 * `npm run bench [-- --seconds 10 --connections 32 --workers 2]`
 *
 * Starts real MinIO and the local runner (broker, N workers, api) on loopback, then measures in one run:
 *   - GET and PUT of a user profile through the full stack (HTTP → api → broker → worker → MinIO);
 *   - the same object read and written directly on MinIO from this process, through the same S3 adapter
 *     the workers use — so the cost of the api, the broker hop and the worker is a ratio.
 * Prints a table and writes bench/results/<timestamp>.json.
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
import { closedLoop, type LoadResult } from './closed-loop.ts';
import { httpLoad } from './http-load.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    workers: { type: 'string', default: '2' },
    users: { type: 'string', default: '100' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const workers = Number(values.workers);
const userCount = Number(values.users);

const profile = { firstName: 'Ada', lastName: 'Lovelace', city: 'London', tags: ['bench', 'profile'], n: 0 };
const body = JSON.stringify(profile);
const names = Array.from({ length: userCount }, (_, i) => `bench-${i}`);
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

const results: Record<string, LoadResult> = {};
try {
  await stack.start();
  log(`stack up: ${workers} workers, MinIO at ${minio.endpoint}; seeding ${userCount} users`);
  for (const name of names) {
    const res = await fetch(`${stack.apiUrl}/v1/users/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body,
    });
    if (res.status !== 201) throw new Error(`seeding ${name}: ${res.status}`);
  }
  const store = new S3ObjectStore({
    endpoint: minio.endpoint,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    bucket,
    region: 'us-east-1',
  });
  const key = (i: number) => `users/${names[i % names.length]}/profile.json`;
  const doc = Buffer.from(JSON.stringify({ username: 'x', profile, createdAt: '', updatedAt: '' }));
  const paths = names.map((n) => `/v1/users/${n}`);

  log('warming up');
  await httpLoad({ url: stack.apiUrl, connections, seconds: 2, method: 'GET', paths });

  log(`full stack GET: ${connections} connections, ${seconds} s`);
  results.stackGet = await httpLoad({ url: stack.apiUrl, connections, seconds, method: 'GET', paths });
  log(`direct MinIO GET: ${connections} concurrent, ${seconds} s`);
  results.directGet = await closedLoop(
    async (i) => {
      if ((await store.get(key(i))) === undefined) throw new Error('missing');
    },
    connections,
    seconds,
  );
  log(`full stack PUT: ${connections} connections, ${seconds} s`);
  results.stackPut = await httpLoad({ url: stack.apiUrl, connections, seconds, method: 'PUT', paths, body });
  log(`direct MinIO PUT: ${connections} concurrent, ${seconds} s`);
  results.directPut = await closedLoop(
    async (i) => {
      await store.put(key(i), doc, { contentType: 'application/json' });
    },
    connections,
    seconds,
  );
  await store.close();
} finally {
  await stack.stop();
  await minio.stop();
}

const row = (name: string, r: LoadResult) =>
  `| ${name.padEnd(20)} | ${String(r.rps).padStart(7)} | ${r.p50.toFixed(2).padStart(7)} | ${r.p99.toFixed(2).padStart(7)} | ${String(r.errors).padStart(6)} |`;
const ratio = (a: LoadResult | undefined, b: LoadResult | undefined) =>
  a && b ? (a.rps / b.rps).toFixed(2) : 'n/a';
const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
};
const table = [
  `podstore bench — ${new Date().toISOString()} — ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB`,
  `${workers} workers, ${connections} connections, ${seconds} s per run, everything on this machine`,
  '',
  '| run                  |   req/s | p50 ms  | p99 ms  | errors |',
  '|----------------------|---------|---------|---------|--------|',
  row('full stack GET', results.stackGet as LoadResult),
  row('direct MinIO GET', results.directGet as LoadResult),
  row('full stack PUT', results.stackPut as LoadResult),
  row('direct MinIO PUT', results.directPut as LoadResult),
  '',
  `GET full stack / direct: ${ratio(results.stackGet, results.directGet)}×`,
  `PUT full stack / direct: ${ratio(results.stackPut, results.directPut)}×`,
].join('\n');
process.stdout.write(`${table}\n`);

await mkdir(new URL('./results/', import.meta.url), { recursive: true });
const file = new URL(`./results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
await writeFile(file, `${JSON.stringify({ machine, workers, connections, seconds, results }, null, 2)}\n`);
log(`wrote ${file.pathname}`);
