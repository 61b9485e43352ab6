/**
 * What each file operation costs in object-store requests, counted by the worker itself
 * (podstore_worker_storage_requests_total) on a real stack on MinIO: the small-file design's budget
 * (docs/benchmarks.md). One worker, so every request of an operation shows in one counter. First with
 * the pod home's memory off (what an operation costs when the home does not remember the file: a cold
 * read, a home that just moved), then with it on (decision 0008).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, startMinio } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { bearer, signUp } from '../helpers/accounts.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { startTestStack } from '../helpers/test-stack.ts';

let minio: MinioServer;
let stack: LocalStack;
let token = '';
const owner = 'counted';

beforeAll(async () => {
  minio = await startMinio();
  stack = await startTestStack({
    workers: 1,
    workerMetrics: true,
    env: {
      ...minioEnv(minio, 'storage-requests'),
      // Health pings are not counted, but keep them out of the way anyway.
      STORAGE_CHECK_MS: '600000',
      WORKER_RECORD_CACHE_MB: '0',
    },
  });
  token = await signUp(stack.apiUrl, owner);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await minio?.stop();
});

async function storageRequests(): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${stack.options.workerMetricsBasePort}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^podstore_worker_storage_requests_total\{op="(\w+)"\} (\d+)/gm)) {
    counts[match[1] as string] = Number(match[2]);
  }
  return counts;
}

/** The counters once they stop moving (background work of an operation, such as an old blob's removal, done). */
async function quietCounts(): Promise<Record<string, number>> {
  let last = await storageRequests();
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = await storageRequests();
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  throw new Error('the worker never stopped making storage requests');
}

/** The storage requests made while `operation` runs (and by what it left running), by op, and their total. */
async function costOf(
  operation: () => Promise<void>,
): Promise<{ total: number; ops: Record<string, number> }> {
  await quietCounts();
  // The token is resolved first (the api keeps it for AUTH_CACHE_MS, 1 s): what is counted is the
  // operation's own cost.
  expect((await fetch(`${stack.apiUrl}/v1/users/${owner}`, { headers: bearer(token) })).status).toBe(200);
  const before = await storageRequests();
  await operation();
  const after = await quietCounts();
  const ops: Record<string, number> = {};
  let total = 0;
  for (const [op, n] of Object.entries(after)) {
    const delta = n - (before[op] ?? 0);
    if (delta > 0) {
      ops[op] = delta;
      total += delta;
    }
  }
  return { total, ops };
}

const file = (path: string) => `${stack.apiUrl}/v1/users/${owner}/files/${path}`;
const send = async (method: string, path: string, body?: Buffer, expected?: number) => {
  const res = await fetch(file(path), {
    method,
    headers: { ...bearer(token), 'content-type': 'application/octet-stream' },
    ...(body === undefined ? {} : { body }),
  });
  await res.arrayBuffer();
  if (expected !== undefined) expect(res.status).toBe(expected);
};

/**
 * The cheapest of three runs of `operation(i)`: a run can only cost more than the operation itself (the
 * api's token cache, 1 s, may lapse on a loaded machine and add the token's look-up), never less.
 */
async function cheapest(operation: (i: number) => Promise<void>) {
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await costOf(() => operation(i)));
  return runs.reduce((best, run) => (run.total < best.total ? run : best));
}

describe('storage requests per file operation (one worker, MinIO, no memory of records)', () => {
  // Budgets, from docs/benchmarks.md ("What a file operation costs the store"). A replace by bytes no
  // larger than the file's holds nothing in the quota ledger, so it does not touch it; a create takes
  // its name's lock and the ledger's reserve and settle.
  it('a small file is read with one request and replaced with three, its bytes never a blob', async () => {
    const small = randomBytes(4096);
    for (let i = 0; i < 3; i++) await send('PUT', `notes/${i}.bin`, small, 201);
    const replace = await cheapest((i) => send('PUT', `notes/${i}.bin`, small, 200));
    const get = await cheapest((i) => send('GET', `notes/${i}.bin`, undefined, 200));
    const remove = await cheapest((i) => send('DELETE', `notes/${i}.bin`, undefined, 204));
    expect(get).toEqual({ total: 1, ops: { get: 1 } });
    expect(replace.total).toBeLessThanOrEqual(3);
    expect(replace.ops).not.toHaveProperty('putStream');
    expect(replace.ops).not.toHaveProperty('listChildren'); // an existing file keeps the file/folder rule
    expect(remove.total).toBeLessThanOrEqual(5);
    expect(remove.ops).not.toHaveProperty('discard'); // no blob to remove
  });

  it('a small file is created with the file/folder rule checked once, under its name lock', async () => {
    const small = randomBytes(4096);
    await send('PUT', 'inbox/first.bin', small, 201);
    const create = await cheapest((i) => send('PUT', `inbox/new-${i}.bin`, small, 201));
    // The rule: one listing of the name as a folder and a look at its one ancestor, under the lock only
    // (a small body is not checked before it is read).
    expect(create.ops).toMatchObject({ listChildren: 1 });
    expect(create.ops).not.toHaveProperty('putStream');
    expect(create.total).toBeLessThanOrEqual(10); // 9, and the account looked at again if its sight lapsed
    // Still refused, and nothing written, when the name is a folder or under a file.
    await send('PUT', 'inbox', small, 409);
    await send('PUT', 'inbox/first.bin/inner.bin', small, 409);
    await send('GET', 'inbox/first.bin/inner.bin', undefined, 404);
  });

  it('a larger file costs one more request to read, and its blob four more to replace', async () => {
    const large = randomBytes(64 * 1024);
    for (let i = 0; i < 3; i++) await send('PUT', `scans/${i}.bin`, large, 201);
    const replace = await cheapest((i) => send('PUT', `scans/${i}.bin`, large, 200));
    const get = await cheapest((i) => send('GET', `scans/${i}.bin`, undefined, 200));
    expect(get).toEqual({ total: 2, ops: { get: 1, getStream: 1 } });
    expect(replace.total).toBeLessThanOrEqual(7);
    // The new blob, noted first (an intent, dropped after the commit: blob-intents.ts); the old one, removed once.
    expect(replace.ops).toMatchObject({ putStream: 1, discard: 2 });
    expect(replace.ops).not.toHaveProperty('head');
  });
});

describe("storage requests with the pod home's memory of records (decision 0008)", () => {
  let cached: LocalStack;
  let cachedToken = '';
  beforeAll(async () => {
    cached = await startTestStack({
      workers: 1,
      workerMetrics: true,
      env: {
        ...minioEnv(minio, 'storage-requests-cached'),
        STORAGE_CHECK_MS: '600000',
        // The worker's sight of the account lasts a quarter of this (5 s): no operation here looks at the
        // account again, so every request counted is the file's own.
        ERASURE_SETTLE_MS: '20000',
      },
    });
    cachedToken = await signUp(cached.apiUrl, owner);
    // Past the broker's quiet time after its start (BROKER_PLACEMENT_QUIET_MS, 1 s in tests).
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }, 120_000);
  afterAll(async () => {
    await cached?.stop();
  });

  it('reads a small file it wrote or read with no request at all, and replaces it with one', async () => {
    const saved = { stack, token };
    [stack, token] = [cached, cachedToken];
    try {
      const small = randomBytes(4096);
      for (let i = 0; i < 3; i++) await send('PUT', `notes/${i}.bin`, small, 201);
      const get = await cheapest((i) => send('GET', `notes/${i}.bin`, undefined, 200));
      const replace = await cheapest((i) => send('PUT', `notes/${i}.bin`, small, 200));
      const again = await cheapest((i) => send('GET', `notes/${i}.bin`, undefined, 200));
      expect(get).toEqual({ total: 0, ops: {} });
      expect(replace).toEqual({ total: 1, ops: { put: 1 } });
      expect(again).toEqual({ total: 0, ops: {} });
      // What it serves from memory is the file as written last.
      const last = randomBytes(4096);
      await send('PUT', 'notes/0.bin', last, 200);
      const res = await fetch(file('notes/0.bin'), { headers: bearer(token) });
      expect(Buffer.from(await res.arrayBuffer()).equals(last)).toBe(true);
    } finally {
      [stack, token] = [saved.stack, saved.token];
    }
  });
});
