/**
 * Without NATS (NATS_URL empty, the embedded default): users work, the events and webhooks endpoints
 * answer 503 saying events need NATS, and the api and each worker say once at start-up that events
 * are off.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { ActingFetch } from '../helpers/accounts.ts';
import { logRecords, startTestStack } from '../helpers/test-stack.ts';

const fetch = new ActingFetch().fetch;

let stack: LocalStack;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'podstore-events-off-'));
  stack = await startTestStack({ workers: 1, env: { DATA_DIR: dataDir, NATS_URL: '' } });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function expect503(res: Response) {
  expect(res.status).toBe(503);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = (await res.json()) as { status: number; detail: string };
  expect(problem.status).toBe(503);
  expect(problem.detail).toMatch(/events need NATS/);
}

describe('events without NATS', () => {
  it('serves users as usual', async () => {
    const res = await fetch(`${stack.apiUrl}/v1/users/offline`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(res.status).toBe(201);
    expect((await fetch(`${stack.apiUrl}/v1/users/offline`)).status).toBe(200);
  });

  it('answers 503 on the events and webhooks endpoints', async () => {
    const base = `${stack.apiUrl}/v1/users/offline`;
    await expect503(await fetch(`${base}/events`));
    await expect503(await fetch(`${base}/events?kinds=nonsense`));
    await expect503(await fetch(`${base}/webhooks`));
    await expect503(await fetch(`${base}/webhooks/h1`));
    await expect503(
      await fetch(`${base}/webhooks/h1`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'https://example.com/', secret: '0123456789abcdef' }),
      }),
    );
    await expect503(await fetch(`${base}/webhooks/h1`, { method: 'DELETE' }));
  });

  it('says once, at start-up, in the api and in the worker, that events are off', () => {
    for (const process of [stack.api, stack.workers[0]]) {
      const lines = logRecords(process?.lines ?? []).filter((r) => /events are off/.test(String(r.msg)));
      expect(lines, process?.name).toHaveLength(1);
      expect(lines[0]?.msg).toMatch(/NATS_URL is empty/);
    }
  });
});
