/**
 * One pod's flood of uploads does not hold up another pod's processing: on real MinIO, nats-server and
 * one worker processing one file at a time, a pod uploads 30 photos, then another pod one; the second
 * pod's photo is processed while most of the flood still waits (a single queue would process it last),
 * and the flood is still processed whole, at full speed, once it is alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, type NatsServer, startMinio, startNats } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { laneOf } from '../../worker/processing/processing-lanes.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { waitFor } from '../helpers/chaos.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { makeNoiseImage } from '../helpers/processing-fixtures.ts';
import { startTestStack } from '../helpers/test-stack.ts';

const FLOOD = 30;
const FLOODER = 'flooder';
/** A pod in another lane than the flooder's (two pods share a lane with odds of 1 in 16). */
const VICTIM =
  ['patient', 'patient2', 'patient3', 'patient4'].find((name) => laneOf(name) !== laneOf(FLOODER)) ?? '';

let minio: MinioServer;
let nats: NatsServer;
let stack: LocalStack;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  [minio, nats] = await Promise.all([startMinio(), startNats({ jetstream: true })]);
  stack = await startTestStack({
    workers: 1,
    env: { NATS_URL: nats.url, ...minioEnv(minio, 'processing-fairness'), PROCESSING_CONCURRENCY: '1' },
  });
  for (const name of [FLOODER, VICTIM]) tokens[name] = await signUp(stack.apiUrl, name);
}, 90_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await Promise.all([minio?.stop(), nats?.stop()]);
});

const fileUrl = (owner: string, path: string) => `${stack.apiUrl}/v1/users/${owner}/files/${path}`;

async function put(owner: string, path: string, body: Buffer) {
  const res = await fetch(fileUrl(owner, path), {
    method: 'PUT',
    body,
    headers: { ...bearer(tokens[owner] as string), 'content-type': 'image/jpeg' },
  });
  expect(res.status).toBe(201);
}

async function state(owner: string, path: string): Promise<string | undefined> {
  const res = await fetch(`${fileUrl(owner, path)}?metadata`, { headers: bearer(tokens[owner] as string) });
  return ((await res.json()) as { processing?: { state: string } }).processing?.state;
}

const floodPaths = Array.from({ length: FLOOD }, (_, i) => `camera/img-${String(i).padStart(3, '0')}.jpg`);
const floodDone = async () =>
  (await Promise.all(floodPaths.map((path) => state(FLOODER, path)))).filter((s) => s === 'done').length;

describe('processing between pods', () => {
  it('takes another pod’s file in turn, not after a flood of uploads', async () => {
    expect(VICTIM).not.toBe('');
    const photo = await makeNoiseImage(1000, 1000);
    for (let i = 0; i < FLOOD; i += 4)
      await Promise.all(floodPaths.slice(i, i + 4).map((path) => put(FLOODER, path, photo)));
    const waitingBefore = FLOOD - (await floodDone());
    expect(waitingBefore).toBeGreaterThan(12); // the flood is a backlog, not already done

    await put(VICTIM, 'labs/scan.jpg', photo);
    await waitFor('the other pod’s photo processed', async () =>
      (await state(VICTIM, 'labs/scan.jpg')) === 'done' ? true : undefined,
    );
    const waitingAfter = FLOOD - (await floodDone());
    console.log(`flood waiting: ${waitingBefore} before, ${waitingAfter} once the other pod was done`);
    // In one queue the photo would have waited for every photo of the flood; in turns, for about one.
    expect(waitingAfter).toBeGreaterThan(waitingBefore - 6);
    expect(waitingAfter).toBeGreaterThan(8);

    // Alone again, the flood is processed whole.
    await waitFor(
      'the flood processed',
      async () => ((await floodDone()) === FLOOD ? true : undefined),
      120_000,
    );
  }, 240_000);
});
