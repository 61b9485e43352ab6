/**
 * `npx tsx bench/s3-client-cost.ts [--seconds 5] [--rounds 2]`: the CPU one process spends per
 * single-object S3 call (4 KiB GET, 4 KiB PUT, HEAD of a missing key), through minio-js and through the
 * store adapter's own signed requests (worker/storage/s3-object-requests.ts), against a local MinIO,
 * 32 closed loops each. Client CPU per call is the process's user + system time over the calls made (on
 * loopback the kernel's receive path runs in the sender's system calls, so it is counted too). Rounds
 * alternate the two clients so that a machine that slows down mid-run slows both.
 */
import { parseArgs } from 'node:util';
import { Client } from 'minio';
import { provisionBinaries } from '../deploy/local/provision-binaries.ts';
import { startMinio } from '../deploy/local/servers.ts';
import { S3ObjectStore } from '../worker/storage/s3-store.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '2' } },
});
const seconds = Number(values.seconds);
const LOOPS = 32;
const BUCKET = 'client-cost';
const BODY = Buffer.alloc(4096, 7);

await provisionBinaries();
const minio = await startMinio();
const url = new URL(minio.endpoint);
const store = new S3ObjectStore({
  endpoint: minio.endpoint,
  accessKey: minio.accessKey,
  secretKey: minio.secretKey,
  bucket: BUCKET,
});
const minioJs = new Client({
  endPoint: url.hostname,
  port: Number(url.port),
  useSSL: false,
  accessKey: minio.accessKey,
  secretKey: minio.secretKey,
  region: 'us-east-1',
  pathStyle: true,
});
await store.init();
await store.put('cost/read.bin', BODY);

async function readAll(stream: AsyncIterable<Buffer>): Promise<number> {
  let size = 0;
  for await (const chunk of stream) size += chunk.length;
  return size;
}

const calls: Record<string, { 'minio-js': () => Promise<void>; adapter: () => Promise<void> }> = {
  '4 KiB GET': {
    'minio-js': async () => {
      if ((await readAll(await minioJs.getObject(BUCKET, 'cost/read.bin'))) !== BODY.length)
        throw new Error('short read');
    },
    adapter: async () => {
      if ((await store.get('cost/read.bin'))?.size !== BODY.length) throw new Error('short read');
    },
  },
  '4 KiB PUT': {
    'minio-js': async () => {
      await minioJs.putObject(BUCKET, 'cost/write.bin', BODY, BODY.length, {
        'Content-Type': 'application/octet-stream',
      });
    },
    adapter: async () => {
      await store.put('cost/write.bin', BODY);
    },
  },
  'HEAD of a missing key': {
    'minio-js': async () => {
      try {
        await minioJs.statObject(BUCKET, 'cost/missing');
      } catch (error) {
        if ((error as { code?: string }).code === 'NotFound') return;
        throw error;
      }
      throw new Error('found a missing key');
    },
    adapter: async () => {
      if ((await store.head('cost/missing')) !== undefined) throw new Error('found a missing key');
    },
  },
};

async function measure(call: () => Promise<void>): Promise<{ perSecond: number; cpuMicros: number }> {
  const cpu = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: LOOPS }, async () => {
      while (performance.now() < until) {
        await call();
        done++;
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { perSecond: Math.round(done / seconds), cpuMicros: Math.round((used.user + used.system) / done) };
}

console.log('| call | client | calls/s | client CPU per call |');
console.log('|---|---|---|---|');
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, clients] of Object.entries(calls)) {
    for (const client of ['minio-js', 'adapter'] as const) {
      const { perSecond, cpuMicros } = await measure(clients[client]);
      console.log(
        `| ${name} | ${client === 'adapter' ? 'S3ObjectStore' : client} | ${perSecond} | ${cpuMicros} µs |`,
      );
    }
  }
}
await store.close();
await minio.stop();
