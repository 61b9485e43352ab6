/**
 * A file whose processing job was lost is processed once someone looks at it: on real MinIO and
 * nats-server, a photo's event is lost (the processing intake is dropped before any worker took it, and
 * made again from new events only, as after a NATS that lost its consumers); the photo stays pending,
 * and once it is older than PROCESSING_REQUEUE_AFTER_MS, reading its metadata asks for its job again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, type NatsServer, startMinio, startNats } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { waitFor } from '../helpers/chaos.ts';
import { loseJobThenAddProcessingWorker } from '../helpers/lost-processing-job.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { makeImage } from '../helpers/processing-fixtures.ts';
import { startTestStack } from '../helpers/test-stack.ts';

const REQUEUE_AFTER_MS = 12_000;

let minio: MinioServer;
let nats: NatsServer;
let stack: LocalStack;
let token: string;

beforeAll(async () => {
  [minio, nats] = await Promise.all([startMinio(), startNats({ jetstream: true })]);
  stack = await startTestStack({
    workers: 1,
    env: {
      NATS_URL: nats.url,
      ...minioEnv(minio, 'processing-requeue'),
      // The first worker processes nothing: the job waits in the intake until it is lost.
      PROCESSING_CONCURRENCY: '0',
      PROCESSING_REQUEUE_AFTER_MS: String(REQUEUE_AFTER_MS),
    },
  });
  token = await signUp(stack.apiUrl, 'keeper');
}, 90_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await Promise.all([minio?.stop(), nats?.stop()]);
});

const url = `/v1/users/keeper/files/photos/lost.png`;
const state = async () => {
  const res = await fetch(`${stack.apiUrl}${url}?metadata`, { headers: bearer(token) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { processing?: { state: string } }).processing?.state;
};

describe('a lost processing job', () => {
  it('is asked for again when the file, still pending past the requeue delay, is looked at', async () => {
    const written = Date.now();
    const put = await fetch(`${stack.apiUrl}${url}`, {
      method: 'PUT',
      body: await makeImage('png', 600, 400),
      headers: { ...bearer(token), 'content-type': 'image/png' },
    });
    expect(put.status).toBe(201);

    // The event is lost: the intake goes before anyone took it, and comes back for new events only.
    await loseJobThenAddProcessingWorker(stack, nats.url);

    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(Date.now() - written).toBeLessThan(REQUEUE_AFTER_MS);
    expect(await state()).toBe('pending'); // a processing worker runs, but the job is gone

    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, written + REQUEUE_AFTER_MS + 200 - Date.now())),
    );
    await waitFor(
      'the photo processed',
      async () => ((await state()) === 'done' ? true : undefined),
      30_000,
      500,
    );
    const preview = await fetch(`${stack.apiUrl}${url}?preview=256`, { headers: bearer(token) });
    expect(preview.status).toBe(200);
    expect(preview.headers.get('content-type')).toBe('image/webp');
  }, 90_000);
});
