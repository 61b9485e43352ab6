/**
 * Chaos on storage, load and time, with real processes: MinIO frozen (SIGSTOP: requests hang) and
 * killed then restarted (requests refused): requests answer 503 within their deadline, /readyz turns
 * 503, and everything recovers without restarting anything. Every worker at capacity with a full queue:
 * 503 + Retry-After at once. Deadlines: a command late in the queue or on a worker is answered 504, and
 * the worker gives it up and frees its capacity. Two workers of capacity 1, a queue of 2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minioEnv } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { type ApiProcess, startApiProcess } from '../helpers/api-process.ts';
import {
  brokerMetricsUrl,
  CHAOS_HEARTBEAT,
  type ChaosMinio,
  liveWorkers,
  metric,
  startChaosMinio,
  startChaosStack,
  waitFor,
  workerMetricsUrl,
} from '../helpers/chaos.ts';

let minio: ChaosMinio;
let stack: LocalStack;
/** A second api with a short command deadline. */
let hasty: ApiProcess;
let base: string;
let auth: Record<string, string>;
const owner = 'storage-owner';
let names = 0;

beforeAll(async () => {
  minio = await startChaosMinio();
  stack = await startChaosStack({
    workers: 2,
    env: {
      ...minioEnv(minio, 'chaos-storage'),
      WORKER_CAPACITY: '1',
      BROKER_MAX_QUEUE: '2',
      STORAGE_CHECK_MS: '500',
    },
  });
  base = stack.apiUrl;
  hasty = await startApiProcess({
    BROKER_FRONTEND_URL: stack.frontendEndpoint,
    ...CHAOS_HEARTBEAT,
    COMMAND_TIMEOUT_MS: '1500',
  });
  auth = bearer(await signUp(base, owner));
  const put = await fetch(`${base}/v1/users/${owner}/files/kept/before.txt`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'text/plain' },
    body: 'written before the outage',
  });
  expect(put.status).toBe(201);
}, 90_000);

afterAll(async () => {
  await hasty?.stop();
  await stack?.stop('SIGKILL');
  await minio?.stop();
});

/** A sign-up: a storage command that needs no token (so nothing else touches the store first). */
const signUpAt = (url: string) =>
  fetch(`${url}/v1/users/storage-user-${names++}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });

const timed = async (request: Promise<Response>) => {
  const started = Date.now();
  const res = await request;
  return { res, ms: Date.now() - started, body: (await res.json()) as { detail?: string } };
};

const readyz = async (url = base) => (await fetch(`${url}/readyz`)).status;

describe('overload', () => {
  it('answers 503 with Retry-After at once when every worker is busy and the queue is full', async () => {
    const overloaded = await metric(brokerMetricsUrl(stack), 'podstore_broker_errors_total', {
      code: 'overloaded',
    });
    minio.pause();
    let answers: Awaited<ReturnType<typeof timed>>[] = [];
    try {
      const pending = Array.from({ length: 6 }, () => timed(signUpAt(base)));
      const refused = await waitFor('two refusals', async () => {
        const settled = await Promise.all(
          pending.map((p) =>
            Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10))]),
          ),
        );
        const done = settled.filter((a) => a !== undefined);
        return done.length >= 2 ? done : undefined;
      });
      expect(refused.map((a) => [a.res.status, a.body.detail])).toEqual([
        [503, 'every worker is busy; retry shortly'],
        [503, 'every worker is busy; retry shortly'],
      ]);
      for (const a of refused) {
        expect(a.res.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(a.ms).toBeLessThan(3000); // at once, not after a deadline (30 s)
      }
      minio.resume();
      answers = await Promise.all(pending);
    } finally {
      minio.resume();
    }
    const statuses = answers.map((a) => [a.res.status, a.body.detail ?? '']).sort();
    expect(statuses).toEqual([
      [201, ''],
      [201, ''],
      [201, ''],
      [201, ''],
      [503, 'every worker is busy; retry shortly'],
      [503, 'every worker is busy; retry shortly'],
    ]);
    expect(
      await metric(brokerMetricsUrl(stack), 'podstore_broker_errors_total', { code: 'overloaded' }),
    ).toBe(overloaded + 2);
  });
});

describe('deadlines', () => {
  it('drops a command whose deadline passes in the queue: 504', async () => {
    minio.pause();
    try {
      const busy = [signUpAt(base), signUpAt(base)]; // both workers (capacity 1) hang on the store
      await waitFor('both workers busy', async () => {
        const counts = await Promise.all(
          liveWorkers(stack).map((i) => metric(workerMetricsUrl(stack, i), 'podstore_worker_in_flight')),
        );
        return counts.every((n) => n === 1);
      });
      const late = await timed(signUpAt(hasty.url));
      expect(late.res.status).toBe(504);
      expect(late.ms).toBeGreaterThanOrEqual(1400);
      expect(late.ms).toBeLessThan(4000);
      minio.resume();
      for (const res of await Promise.all(busy)) expect(res.status).toBe(201);
    } finally {
      minio.resume();
    }
  });

  it('answers 504 for a command late on its worker, which gives it up and frees its capacity', async () => {
    const brokerUrl = brokerMetricsUrl(stack);
    const abandoned = async () =>
      (
        await Promise.all(
          liveWorkers(stack).map((i) =>
            metric(workerMetricsUrl(stack, i), 'podstore_worker_deadline_abandoned_total'),
          ),
        )
      ).reduce((a, b) => a + b, 0);
    const abandonedBefore = await abandoned();
    minio.pause();
    try {
      const answer = await timed(signUpAt(hasty.url));
      expect(answer.res.status).toBe(504);
      expect(answer.ms).toBeLessThan(4000);
      // The store still hangs, yet the worker has answered and its capacity is free again.
      await waitFor(
        'the worker to give the command up',
        async () => (await metric(brokerUrl, 'podstore_broker_requests_in_flight')) === 0,
      );
      expect(await abandoned()).toBe(abandonedBefore + 1);
    } finally {
      minio.resume();
    }
    expect((await signUpAt(base)).status).toBe(201);
  });
});

describe('storage outage', () => {
  it('MinIO frozen: 503 storage unavailable within the deadline, /readyz 503, recovery on its own', async () => {
    minio.pause();
    try {
      const ready = await waitFor(
        '/readyz to say 503',
        async () => {
          const res = await fetch(`${base}/readyz`);
          const body = (await res.json()) as { detail?: string };
          return res.status === 503 ? body : undefined;
        },
        10_000,
      );
      expect(ready.detail).toMatch(/storage unavailable/);
      const answer = await timed(signUpAt(base));
      expect(answer.res.status).toBe(503);
      expect(answer.res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(answer.body.detail).toMatch(/storage unavailable/);
      expect(answer.ms).toBeLessThan(15_000); // the store client's own timeout, well inside 30 s
    } finally {
      minio.resume();
    }
    await waitFor('/readyz to say 200 again', async () => (await readyz()) === 200, 15_000);
    expect((await signUpAt(base)).status).toBe(201);
  });

  it('MinIO killed: 503 at once, /readyz 503; restarted: everything recovers, data intact', async () => {
    await minio.kill();
    const answer = await timed(signUpAt(base));
    expect(answer.res.status).toBe(503);
    expect(answer.ms).toBeLessThan(3000);
    const read = await fetch(`${base}/v1/users/${owner}/files/kept/before.txt`, { headers: auth });
    expect(read.status).toBe(503);
    expect(read.headers.get('retry-after')).toMatch(/^\d+$/);
    await waitFor('/readyz to say 503', async () => (await readyz()) === 503, 10_000);

    await minio.restart();
    await waitFor('/readyz to say 200 again', async () => (await readyz()) === 200, 20_000);
    await waitFor('a sign-up to work again', async () => (await signUpAt(base)).status === 201, 10_000);
    for (let i = 0; i < 5; i++) {
      expect((await signUpAt(base)).status).toBe(201);
      const again = await fetch(`${base}/v1/users/${owner}/files/kept/before.txt`, { headers: auth });
      expect(again.status).toBe(200);
      expect(await again.text()).toBe('written before the outage');
    }
    // Nothing was restarted but MinIO.
    for (const p of [stack.broker, stack.api, ...stack.workers]) expect(p?.child.exitCode).toBeNull();
    expect(hasty.child.exitCode).toBeNull();
  });
});
