/**
 * The whole-pod scan on real MinIO and nats-server: a photo's processing job is lost (the intake is
 * dropped before any worker took the event, as after a NATS that lost its consumers), and nobody looks at
 * the photo; a processing worker whose walk over the pods runs every 2 s finds the version without a
 * status and asks for its job again, so the photo is processed without anyone reading its metadata.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, type NatsServer, startMinio, startNats } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { statusKey } from '../../worker/processing/processing-status.ts';
import { S3ObjectStore } from '../../worker/storage/s3-store.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { waitFor } from '../helpers/chaos.ts';
import { loseJobThenAddProcessingWorker } from '../helpers/lost-processing-job.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { makeImage } from '../helpers/processing-fixtures.ts';
import { startTestStack } from '../helpers/test-stack.ts';

const BUCKET = 'processing-backfill';
const REQUEUE_AFTER_MS = 3000;

let minio: MinioServer;
let nats: NatsServer;
let stack: LocalStack;
let store: S3ObjectStore;
let token: string;

beforeAll(async () => {
  [minio, nats] = await Promise.all([startMinio(), startNats({ jetstream: true })]);
  stack = await startTestStack({
    workers: 1,
    workerMetrics: true,
    env: {
      NATS_URL: nats.url,
      ...minioEnv(minio, BUCKET),
      // The first worker processes nothing: the job waits in the intake until it is lost.
      PROCESSING_CONCURRENCY: '0',
      PROCESSING_REQUEUE_AFTER_MS: String(REQUEUE_AFTER_MS),
      PROCESSING_BACKFILL_MS: '2000',
    },
  });
  store = new S3ObjectStore({
    endpoint: minio.endpoint,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    bucket: BUCKET,
  });
  token = await signUp(stack.apiUrl, 'archivist');
}, 90_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await Promise.all([minio?.stop(), nats?.stop()]);
});

describe('the whole-pod scan', () => {
  it('processes a file whose job was lost though nobody looks at it', async () => {
    const put = await fetch(`${stack.apiUrl}/v1/users/archivist/files/old/unseen.png`, {
      method: 'PUT',
      body: await makeImage('png', 400, 300),
      headers: { ...bearer(token), 'content-type': 'image/png' },
    });
    expect(put.status).toBe(201);
    const etag = (put.headers.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
    expect(etag).not.toBe('');

    // The event is lost: the intake goes before anyone took it, and comes back for new events only.
    await loseJobThenAddProcessingWorker(stack, nats.url);

    // Nobody reads the photo's metadata or preview: only the store shows that it was processed.
    const key = statusKey('archivist', 'old/unseen.png', etag);
    await waitFor(
      'the photo processed',
      async () => ((await store.head(key)) !== undefined ? true : undefined),
      30_000,
      250,
    );
    const status = JSON.parse((await store.get(key))?.body.toString('utf8') ?? '{}') as { state?: string };
    expect(status.state).toBe('done');

    // It was the walk that asked: the processing worker counts what its walks asked for.
    const metrics = await (
      await fetch(`http://${stack.options.host}:${stack.options.workerMetricsBasePort + 1}/metrics`)
    ).text();
    expect(metrics).toMatch(/^podstore_worker_processing_backfill_requeued_total [1-9]/m);
  }, 90_000);
});
