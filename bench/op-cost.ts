/**
 * `npx tsx bench/op-cost.ts [--processing on|off] [--rounds 2] [--users 32] [--ops 30]`: what one small
 * operation costs each process of the stack, in CPU milliseconds, and the object store in requests. A
 * stack on loopback (MinIO, nats-server with JetStream, the broker, 2 workers and the api, from the
 * sources), `--users` pods of one 4 KiB file each, and per operation kind one closed loop per user making
 * `--ops` operations: profile PUT, 4 KiB replace (PUT over the file) and 4 KiB GET. A process's CPU is its
 * user + system time (/proc/<pid>/stat) over the operations made, counted until the background work they
 * caused (processing jobs, events) is done, so a job's cost lands on the write that made it. Storage
 * requests are the workers' own counter (podstore_worker_storage_requests_total). Rates are printed too,
 * but this is not a throughput benchmark (`npm run bench` is): it says where a request's CPU goes.
 *
 * Linux only (/proc, `ss`). Everything it starts is its own, on free loopback ports, and stopped at the end.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { freePort, freePortRange } from '../deploy/local/free-port.ts';
import { provisionBinaries } from '../deploy/local/provision-binaries.ts';
import { startMinio, startNats } from '../deploy/local/servers.ts';
import { LocalStack } from '../deploy/local/stack.ts';
import { authHeader as bearer, signUp } from './load/accounts.ts';
import { cpuMs, listenerPid, untilQuiet } from './process-cpu.ts';

const { values } = parseArgs({
  options: {
    processing: { type: 'string', default: 'on' },
    rounds: { type: 'string', default: '2' },
    users: { type: 'string', default: '32' },
    ops: { type: 'string', default: '30' },
  },
});
const positive = (name: string, raw: string | undefined) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes a whole number from 1`);
  return n;
};
if (values.processing !== 'on' && values.processing !== 'off') throw new Error('--processing is on or off');
const rounds = positive('rounds', values.rounds);
const users = positive('users', values.users);
const ops = positive('ops', values.ops);

await provisionBinaries();
const minio = await startMinio();
const nats = await startNats({ jetstream: true });
const stack = new LocalStack({
  workers: 2,
  host: '127.0.0.1',
  apiPort: await freePort(),
  frontendPort: await freePort(),
  backendPort: await freePort(),
  brokerMetricsPort: 0,
  workerMetricsBasePort: await freePortRange(2),
  env: {
    MINIO_ENDPOINT: minio.endpoint,
    MINIO_ACCESS_KEY: minio.accessKey,
    MINIO_SECRET_KEY: minio.secretKey,
    MINIO_BUCKET: 'op-cost',
    NATS_URL: nats.url,
    PROCESSING_CONCURRENCY: values.processing === 'on' ? '1' : '0',
    LOG_LEVEL: 'warn',
    LOG_PRETTY: 'false',
    // The steady state, as in `npm run bench`: pods' homes answer from memory 5 s after the broker starts,
    // not after the default two minutes (that wait is for after a lost worker). Read leases stay off (the
    // default): a GET is counted down to the worker that answers it.
    BROKER_PLACEMENT_QUIET_MS: '5000',
  },
  stdio: 'pipe',
});
await stack.start();

const pidOf = (process: { child: { pid?: number | undefined } } | undefined) => {
  const pid = process?.child.pid;
  if (pid === undefined) throw new Error('a stack process has no pid');
  return pid;
};
const pids: Record<string, number> = {
  api: pidOf(stack.api),
  broker: pidOf(stack.broker),
  ...Object.fromEntries(stack.workers.map((worker, i) => [`worker-${i + 1}`, pidOf(worker)])),
  minio: listenerPid(minio.port),
  nats: listenerPid(nats.port),
};
const cpuNow = () => Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid)]));
async function storageRequests(): Promise<number> {
  let total = 0;
  for (let i = 0; i < stack.workers.length; i++) {
    const text = await (
      await fetch(`http://127.0.0.1:${stack.options.workerMetricsBasePort + i}/metrics`)
    ).text();
    for (const match of text.matchAll(/^podstore_worker_storage_requests_total\{op="\w+"\} (\d+)/gm))
      total += Number(match[1]);
  }
  return total;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits until no process of the stack used CPU for a second (at most 30 s): background work is done. */
const quiet = () => untilQuiet(() => Object.values(pids));

const tokens: string[] = [];
const body = randomBytes(4096);
const fileUrl = (i: number) => `${stack.apiUrl}/v1/users/cost${i}/files/notes/a.bin`;
for (let i = 0; i < users; i++) tokens.push((await signUp(stack.apiUrl, `cost${i}`, {})).token as string);
await sleep(5000); // the broker's quiet time after its start
const kinds: Record<string, (i: number) => Promise<Response>> = {
  'profile PUT': (i) =>
    fetch(`${stack.apiUrl}/v1/users/cost${i}`, {
      method: 'PUT',
      headers: { ...bearer(tokens[i] as string), 'content-type': 'application/json' },
      body: JSON.stringify({ note: randomBytes(8).toString('hex') }),
    }),
  '4 KiB replace': (i) =>
    fetch(fileUrl(i), {
      method: 'PUT',
      headers: { ...bearer(tokens[i] as string), 'content-type': 'application/octet-stream' },
      body,
    }),
  '4 KiB GET': (i) => fetch(fileUrl(i), { headers: bearer(tokens[i] as string) }),
};
for (let i = 0; i < users; i++)
  await (await (kinds['4 KiB replace'] as (i: number) => Promise<Response>)(i)).arrayBuffer();

console.log(
  `op-cost: processing ${values.processing}, ${users} users, ${ops} operations each per kind and round; ` +
    'CPU ms per operation by process, storage requests per operation',
);
const names = Object.keys(pids);
console.log(`| round | operation | ops/s | ${names.join(' | ')} | all | storage requests |`);
console.log(`|---|---|---|${names.map(() => '---|').join('')}---|---|`);
try {
  for (let round = 1; round <= rounds; round++) {
    for (const [kind, op] of Object.entries(kinds)) {
      await quiet();
      const cpu0 = cpuNow();
      const requests0 = await storageRequests();
      const started = performance.now();
      await Promise.all(
        Array.from({ length: users }, async (_, i) => {
          for (let n = 0; n < ops; n++) {
            const res = await op(i);
            await res.arrayBuffer();
            if (res.status >= 300) throw new Error(`${kind}: ${res.status}`);
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      await quiet();
      const cpu1 = cpuNow();
      const count = users * ops;
      const per = names.map((name) => ((cpu1[name] ?? 0) - (cpu0[name] ?? 0)) / count);
      const all = per.reduce((sum, ms) => sum + ms, 0);
      const requests = ((await storageRequests()) - requests0) / count;
      console.log(
        `| ${round} | ${kind} | ${Math.round(count / seconds)} | ${per.map((ms) => ms.toFixed(2)).join(' | ')} | ${all.toFixed(2)} | ${requests.toFixed(2)} |`,
      );
    }
  }
} finally {
  await stack.stop();
  await nats.stop();
  await minio.stop();
}
