/**
 * Chaos on workers, with real processes and real signals: a worker SIGKILLed in the middle of a
 * command (idempotent: re-dispatched, the client sees 200; not idempotent: 503 + Retry-After; a small
 * upload: sent again to another worker; a large one: fails for that one client, nothing half-written
 * visible; a download under way: reopened on another worker at the byte reached, same version only),
 * Idempotency-Key on POST (replay, 422, 409, across workers, carried over after a crash), and SIGTERM
 * draining a busy worker. Commands are held in flight by freezing MinIO (SIGSTOP) or by a client that
 * sends its body piece by piece.
 *
 * The broker's pod affinity is off here: these tests are about one pod's commands landing on different
 * workers (a retry on another worker must find the first one's key), which affinity makes rare but must
 * never break (decision 0007). pod-two-workers.test.ts and the chaos run test with it on.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { minioEnv } from '../../deploy/local/servers.ts';
import type { LocalStack, ManagedProcess } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import {
  brokerMetricsUrl,
  busyWorker,
  type ChaosMinio,
  killWorker,
  liveWorkers,
  manualUpload,
  metric,
  slowDownload,
  startChaosMinio,
  startChaosStack,
  waitFor,
  workerMetricsUrl,
} from '../helpers/chaos.ts';

let minio: ChaosMinio;
let stack: LocalStack;
let base: string;
let auth: Record<string, string>;
const owner = 'chaos-owner';
/** Upload bodies up to this size are sent again when their worker dies. */
const REPLAY_BYTES = 512 * 1024;
const files = (path: string) => `${base}/v1/users/${owner}/files/${path}`;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

beforeAll(async () => {
  minio = await startChaosMinio();
  stack = await startChaosStack({
    workers: WORKERS,
    spareWorkers: 5,
    env: {
      ...minioEnv(minio, 'chaos-workers'),
      BROKER_POD_AFFINITY: 'false',
      STREAM_IDLE_MS: '15000',
      IDEMPOTENCY_LEASE_MS: '1500',
      UPLOAD_REPLAY_BYTES: String(REPLAY_BYTES),
    },
  });
  base = stack.apiUrl;
  auth = bearer(await signUp(base, owner, { name: 'Chaos' }));
}, 90_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await minio?.stop();
});

const put = (path: string, body: Buffer | string) =>
  fetch(files(path), {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    body,
  });

const post = (body: string, key: string, slug = 'lab.txt') =>
  fetch(files('inbox/'), {
    method: 'POST',
    headers: { ...auth, 'content-type': 'text/plain', 'idempotency-key': key, slug },
    body,
  });

/** Index of a live worker with an upload or download running (its own gauge says so). */
const streamingWorker = () =>
  waitFor('a worker with a stream in flight', async () => {
    for (const i of liveWorkers(stack)) {
      if ((await metric(workerMetricsUrl(stack, i), 'podstore_worker_streams_in_flight')) > 0) return i;
    }
    return undefined;
  });

/** Starts one more worker and waits until the api sees `count` of them. */
/** Workers the stack runs with; each test that kills one starts another. */
const WORKERS = 3;

async function replaceWorker(): Promise<void> {
  stack.addWorker();
  await stack.waitReady(liveWorkers(stack).length, 45_000);
}

const sumOverWorkers = async (name: string, labels: Record<string, string> = {}) => {
  const values = await Promise.all(
    liveWorkers(stack).map((i) => metric(workerMetricsUrl(stack, i), name, labels)),
  );
  return values;
};

describe('Idempotency-Key on POST', () => {
  it('answers a retry with the first result, refuses another body (422), and holds across workers', async () => {
    const first = await post('result A', '"lab-key-1"');
    expect(first.status).toBe(201);
    const location = first.headers.get('location');
    const body = await first.json();
    expect(location).toMatch(/^\/v1\/users\/chaos-owner\/files\/inbox\/lab\.txt$/);
    for (let i = 0; i < 5; i++) {
      const again = await post('result A', '"lab-key-1"');
      expect(again.status).toBe(201);
      expect(again.headers.get('location')).toBe(location);
      expect(await again.json()).toEqual(body);
    }
    const replayed = await sumOverWorkers('podstore_worker_idempotency_keys_total', { result: 'replayed' });
    expect(replayed.reduce((a, b) => a + b, 0)).toBe(5);
    expect(replayed.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2); // other workers read the key

    const other = await post('result B', '"lab-key-1"');
    expect(other.status).toBe(422);
    expect(other.headers.get('content-type')).toMatch(/problem\+json/);
    const elsewhere = await post('result A', '"lab-key-1"', 'another-name.txt');
    expect(elsewhere.status).toBe(422);

    const listing = (await (await fetch(files('inbox/'), { headers: auth })).json()) as {
      items: { name: string }[];
    };
    expect(listing.items.map((i) => i.name)).toEqual(['lab.txt']);
    expect(
      (await fetch(files('inbox/'), { method: 'POST', headers: { ...auth, 'idempotency-key': '""' } }))
        .status,
    ).toBe(400);
  });

  it('answers 409 to a retry while the first request is still running, then the first result', async () => {
    const up = manualUpload(files('inbox/'), 'POST', {
      ...auth,
      'content-type': 'text/plain',
      'idempotency-key': '"slow-key"',
      slug: 'slow.txt',
    });
    up.write(Buffer.from('part one, '));
    await streamingWorker();
    const during = await post('part one, part two', '"slow-key"', 'slow.txt');
    expect(during.status).toBe(409);
    up.write(Buffer.from('part two'));
    up.end();
    const first = await up.answer;
    expect(first.status).toBe(201);
    const again = await post('part one, part two', '"slow-key"', 'slow.txt');
    expect(again.status).toBe(201);
    expect(again.headers.get('location')).toBe(first.headers.location);
    expect(await again.json()).toEqual(JSON.parse(first.body.toString()));
  });
});

describe('a worker killed with SIGKILL mid-command', () => {
  // A test that fails between its kill and its replaceWorker() must not leave the next ones short of a
  // worker (one failure then read as four).
  afterEach(async () => {
    while (liveWorkers(stack).length < WORKERS) await replaceWorker();
  });

  it('re-dispatches an idempotent command once: the client gets 200', async () => {
    expect((await put('redispatch/note.txt', 'still here')).status).toBe(201);
    const brokerUrl = brokerMetricsUrl(stack);
    const retried = await metric(brokerUrl, 'podstore_broker_retried_total');
    await fetch(`${files('redispatch/note.txt')}?metadata`, { headers: auth }); // fresh token cache
    minio.pause();
    let answer: Promise<Response> | undefined;
    let noticedMs = Number.NaN;
    try {
      answer = fetch(`${files('redispatch/note.txt')}?metadata`, { headers: auth });
      const victim = await busyWorker(stack);
      await killWorker(stack, victim);
      const killedAt = Date.now();
      await waitFor(
        'the broker to re-dispatch',
        async () => (await metric(brokerUrl, 'podstore_broker_retried_total')) > retried,
        10_000,
        20,
      );
      noticedMs = Date.now() - killedAt;
    } finally {
      minio.resume();
    }
    const res = await answer;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ path: 'redispatch/note.txt', size: 10 });
    // liveness is 4 × 250 ms here; the broker checks every 100 ms (slack for a busy machine)
    expect(noticedMs).toBeLessThan(3000);
    expect(await metric(brokerUrl, 'podstore_broker_workers_lost_total')).toBeGreaterThanOrEqual(1);
  });

  it('answers a non-idempotent command 503 with Retry-After', async () => {
    minio.pause();
    try {
      // Sign-up needs no token, so nothing else waits on the frozen store first.
      const answer = fetch(`${base}/v1/users/chaos-signup`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const victim = await busyWorker(stack);
      const killedAt = Date.now();
      await killWorker(stack, victim);
      const res = await answer;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(Date.now() - killedAt).toBeLessThan(3000);
    } finally {
      minio.resume();
    }
    await replaceWorker();
  });

  it('carries a small upload over to another worker: the client sees 201 and the whole file', async () => {
    const up = manualUpload(files('streams/carried.bin'), 'PUT', {
      ...auth,
      'content-type': 'application/octet-stream',
    });
    const first = randomBytes(256 * 1024);
    const second = randomBytes(128 * 1024);
    up.write(first);
    const victim = await streamingWorker();
    await killWorker(stack, victim);
    up.write(second);
    up.end();
    const answer = await up.answer;
    expect(answer.status).toBe(201);
    const stored = await fetch(files('streams/carried.bin'), { headers: auth });
    expect(sha256(Buffer.from(await stored.arrayBuffer()))).toBe(sha256(Buffer.concat([first, second])));
    await replaceWorker();
  });

  it('fails an upload too large to keep for that client only, and nothing of it becomes visible', async () => {
    const up = manualUpload(files('streams/partial.bin'), 'PUT', {
      ...auth,
      'content-type': 'application/octet-stream',
    });
    up.write(randomBytes(REPLAY_BYTES + 256 * 1024));
    const victim = await streamingWorker();
    await killWorker(stack, victim);
    const answer = await up.answer;
    up.request.destroy();
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toMatch(/^\d+$/);
    const meta = await fetch(`${files('streams/partial.bin')}?metadata`, { headers: auth });
    expect(meta.status).toBe(404);
    expect((await put('streams/other.txt', 'others are fine')).status).toBe(201);
    await replaceWorker();
  });

  it('reopens a download under way on another worker at the byte reached: the client gets every byte', async () => {
    const block = randomBytes(1024 * 1024);
    const big = Buffer.concat(Array.from({ length: 24 }, () => block));
    expect((await put('streams/big.bin', big)).status).toBe(201);
    const slow = slowDownload(files('streams/big.bin'), auth);
    expect(await slow.status).toBe(200);
    const victim = await streamingWorker();
    await killWorker(stack, victim);
    (await slow.response).resume();
    const got = await slow.result;
    expect(got).toEqual({ bytes: big.length, length: big.length, sha256: sha256(big) });
    await replaceWorker();
  });

  it('reopens a range download too, and answers exactly the range asked for', async () => {
    const big = randomBytes(20 * 1024 * 1024);
    expect((await put('streams/ranged.bin', big)).status).toBe(201);
    const [first, last] = [1000, 18 * 1024 * 1024];
    const slow = slowDownload(files('streams/ranged.bin'), { ...auth, range: `bytes=${first}-${last}` });
    expect(await slow.status).toBe(206);
    await killWorker(stack, await streamingWorker());
    (await slow.response).resume();
    const want = big.subarray(first, last + 1);
    expect(await slow.result).toEqual({ bytes: want.length, length: want.length, sha256: sha256(want) });
    await replaceWorker();
  });

  it('never stitches two versions: a download whose file was replaced meanwhile is cut when its worker dies', async () => {
    // Larger than everything between the worker and a paused client can buffer (socket buffers, the
    // transfer window), so the worker is still streaming when it is killed, however slow the machine.
    const before = randomBytes(96 * 1024 * 1024);
    expect((await put('streams/changing.bin', before)).status).toBe(201);
    const slow = slowDownload(files('streams/changing.bin'), auth);
    expect(await slow.status).toBe(200);
    const victim = await streamingWorker();
    const after = randomBytes(1024 * 1024);
    expect((await put('streams/changing.bin', after)).status).toBe(200);
    await killWorker(stack, victim);
    (await slow.response).resume();
    const cut = await slow.result;
    expect(cut.length).toBe(before.length);
    expect(cut.bytes).toBeLessThan(before.length);
    expect(cut.error).toBeDefined();
    const whole = await fetch(files('streams/changing.bin'), { headers: auth });
    expect(sha256(Buffer.from(await whole.arrayBuffer()))).toBe(sha256(after));
    await replaceWorker();
  });

  it('carries a keyed POST over once the dead worker lets go of its key: created exactly once', async () => {
    const headers = {
      ...auth,
      'content-type': 'text/plain',
      'idempotency-key': '"crash-key"',
      slug: 'crash.txt',
    };
    const up = manualUpload(files('crash/'), 'POST', headers);
    up.write(Buffer.from('the '));
    const victim = await streamingWorker();
    await killWorker(stack, victim);
    // The api waits out the dead worker's lease on the key (1.5 s here), then sends the body again.
    await new Promise((r) => setTimeout(r, 500));
    up.write(Buffer.from('report'));
    up.end();
    const answer = await up.answer;
    expect(answer.status).toBe(201);
    const again = await fetch(files('crash/'), { method: 'POST', headers, body: 'the report' });
    expect(again.status).toBe(201);
    expect(again.headers.get('location')).toBe(answer.headers.location);
    const listing = (await (await fetch(files('crash/'), { headers: auth })).json()) as {
      items: { name: string }[];
    };
    expect(listing.items.map((i) => i.name)).toEqual(['crash.txt']);
    const stored = await fetch(files('crash/crash.txt'), { headers: auth });
    expect(await stored.text()).toBe('the report');
    await replaceWorker();
  });

  it('carries a POST without a key over too, under a key the api made up: created once', async () => {
    const up = manualUpload(files('crash-unkeyed/'), 'POST', { ...auth, 'content-type': 'text/plain' });
    up.write(Buffer.from('un'));
    const victim = await streamingWorker();
    await killWorker(stack, victim);
    up.write(Buffer.from('keyed'));
    up.end();
    const answer = await up.answer;
    expect(answer.status).toBe(201);
    const listing = (await (await fetch(files('crash-unkeyed/'), { headers: auth })).json()) as {
      items: { name: string }[];
    };
    expect(listing.items).toHaveLength(1);
    const stored = await fetch(`${base}${answer.headers.location}`, { headers: auth });
    expect(await stored.text()).toBe('unkeyed');
    await replaceWorker();
  });
});

describe('SIGTERM on a busy worker', () => {
  it('takes no new commands, finishes its upload (201) and exits 0', async () => {
    // The first retry survives all the deaths above: the keys live in the store.
    expect((await post('result A', '"lab-key-1"')).status).toBe(201);
    const up = manualUpload(files('drain/slow.bin'), 'PUT', {
      ...auth,
      'content-type': 'application/octet-stream',
    });
    const part = randomBytes(300 * 1024);
    up.write(part);
    const holder = await streamingWorker();
    const worker = stack.workers[holder] as ManagedProcess;
    const url = workerMetricsUrl(stack, holder);
    worker.child.kill('SIGTERM');
    await waitFor('the broker to see it leave', async () => {
      const ready = (await (await fetch(`${base}/readyz`)).json()) as { workers?: number };
      return ready.workers === liveWorkers(stack).length - 1;
    });
    const before = await metric(url, 'podstore_worker_commands_total');
    for (let i = 0; i < 5; i++) expect((await put(`drain/other-${i}.txt`, 'x')).status).toBe(201);
    expect(await metric(url, 'podstore_worker_commands_total')).toBe(before); // nothing new went to it
    up.write(part);
    up.end();
    const answer = await up.answer;
    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.body.toString())).toMatchObject({ size: 2 * part.length });
    expect(await worker.exited).toBe(0);
  });
});
