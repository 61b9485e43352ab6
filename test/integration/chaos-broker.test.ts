/**
 * Chaos on the broker and the api, with real processes and production heartbeats (1 s, dead after 3):
 * the broker SIGKILLed and started again on the same ports (calls in flight and new ones fail fast with
 * 503; workers and the api reconnect by themselves; service is back within 3 s of the broker's return),
 * and SIGTERM draining the broker and an api (what runs finishes, nothing new is taken, exit 0).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { startApiProcess } from '../helpers/api-process.ts';
import {
  brokerMetricsUrl,
  liveWorkers,
  manualUpload,
  metric,
  startChaosStack,
  waitFor,
  workerMetricsUrl,
} from '../helpers/chaos.ts';

let dataDir: string;
let stack: LocalStack;
let base: string;
let auth: Record<string, string>;
const owner = 'broker-owner';
const files = (path: string, url = base) => `${url}/v1/users/${owner}/files/${path}`;
const PRODUCTION_HEARTBEAT = { HEARTBEAT_INTERVAL_MS: '1000', HEARTBEAT_LIVENESS: '3' };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'podstore-chaos-broker-'));
  stack = await startChaosStack({ workers: 2, env: { DATA_DIR: dataDir, ...PRODUCTION_HEARTBEAT } });
  base = stack.apiUrl;
  auth = bearer(await signUp(base, owner));
  const put = await fetch(files('kept.txt'), { method: 'PUT', headers: auth, body: 'kept' });
  expect(put.status).toBe(201);
}, 90_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

const get = async (url = files('kept.txt')) => {
  const started = Date.now();
  const res = await fetch(url, { headers: auth });
  const body = await res.text();
  return { status: res.status, ms: Date.now() - started, body, retryAfter: res.headers.get('retry-after') };
};

/** Uploads and downloads running on the workers now. */
const workerStreams = async () =>
  (
    await Promise.all(
      liveWorkers(stack).map((i) => metric(workerMetricsUrl(stack, i), 'podstore_worker_streams_in_flight')),
    )
  ).reduce((a, b) => a + b, 0);

/** Starts the broker on the same ports; resolves when it is listening (its metrics endpoint answers). */
async function restartBroker(): Promise<number> {
  stack.startBroker();
  await waitFor(
    'the broker to listen again',
    async () => (await fetch(`${brokerMetricsUrl(stack).replace('/metrics', '/healthz')}`)).status === 200,
    30_000,
    20,
  );
  return Date.now();
}

describe('broker killed and restarted', () => {
  it('fails calls fast while it is gone, and serves again within 3 s of its return', async () => {
    const streams = await workerStreams();
    const up = manualUpload(files('cut.bin'), 'PUT', { ...auth, 'content-type': 'application/octet-stream' });
    up.write(randomBytes(64 * 1024));
    await waitFor('the upload to reach a worker', async () => (await workerStreams()) > streams);

    const broker = stack.broker;
    broker?.child.kill('SIGKILL');
    await broker?.exited;
    const killedAt = Date.now();
    // The call in flight fails at once (its reply cannot come), and nothing of it is visible.
    const cut = await up.answer;
    up.request.destroy();
    expect(cut.status).toBe(503);
    expect(Date.now() - killedAt).toBeLessThan(2000);
    // New calls fail fast too, with Retry-After.
    for (let i = 0; i < 5; i++) {
      const answer = await get();
      expect(answer.status).toBe(503);
      expect(answer.retryAfter).toMatch(/^\d+$/);
      expect(answer.ms).toBeLessThan(1000);
    }
    expect(await (await fetch(`${base}/readyz`)).status).toBe(503);

    const returnedAt = await restartBroker();
    const back = await waitFor(
      'a read to succeed',
      async () => ((await get()).status === 200 ? Date.now() : undefined),
      15_000,
      50,
    );
    expect(back - returnedAt).toBeLessThan(3000);
    await stack.waitReady(2, 10_000); // both workers registered again
    expect((await get()).body).toBe('kept');
    expect((await get(`${files('cut.bin')}?metadata`)).status).toBe(404);
    for (const p of [stack.api, ...stack.workers]) expect(p?.child.exitCode).toBeNull(); // none restarted
    expect(await metric(`${base}/metrics`, 'podstore_api_broker_lost_calls_total')).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe('graceful stops', () => {
  it('SIGTERM on the broker: new calls 503 at once, the running upload finishes (201), exit 0', async () => {
    const streams = await workerStreams();
    const up = manualUpload(files('drained.bin'), 'PUT', {
      ...auth,
      'content-type': 'application/octet-stream',
    });
    const part = randomBytes(64 * 1024);
    up.write(part);
    await waitFor('the upload to reach a worker', async () => (await workerStreams()) > streams);
    const broker = stack.broker;
    broker?.child.kill('SIGTERM');
    await waitFor('new calls to be refused', async () => (await get()).status === 503, 5000, 20);
    const refused = await get();
    expect(refused.status).toBe(503);
    expect(refused.ms).toBeLessThan(1000);
    up.write(part);
    up.end();
    const answer = await up.answer;
    expect(answer.status).toBe(201);
    expect(await broker?.exited).toBe(0);
    await restartBroker();
    await stack.waitReady(2, 15_000);
    expect((await get(`${files('drained.bin')}?metadata`)).status).toBe(200);
  }, 60_000);

  it('SIGTERM on an api: it stops accepting, finishes the running upload (201), exits 0', async () => {
    const api = await startApiProcess({
      BROKER_FRONTEND_URL: stack.frontendEndpoint,
      ...PRODUCTION_HEARTBEAT,
    });
    const streams = await workerStreams();
    const up = manualUpload(files('via-api.bin', api.url), 'PUT', {
      ...auth,
      'content-type': 'application/octet-stream',
    });
    const part = randomBytes(64 * 1024);
    up.write(part);
    await waitFor('the upload to reach a worker', async () => (await workerStreams()) > streams);
    api.child.kill('SIGTERM');
    await waitFor(
      'the api to stop accepting',
      async () => {
        try {
          await fetch(`${api.url}/healthz`, { headers: { connection: 'close' } });
          return false;
        } catch {
          return true; // connection refused
        }
      },
      5000,
      20,
    );
    up.write(part);
    up.end();
    const answer = await up.answer;
    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.body.toString())).toMatchObject({ size: 2 * part.length });
    const code =
      api.child.exitCode ?? (await new Promise<number | null>((r) => api.child.once('exit', (c) => r(c))));
    expect(code).toBe(0);
  }, 60_000);
});
