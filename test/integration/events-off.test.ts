/**
 * Without NATS (NATS_URL empty, the embedded default): users work, the events and webhooks endpoints
 * answer 503 saying events need NATS, and the api and each worker say once at start-up that events
 * are off. File processing travels on NATS too: no file is said to be `pending` a job that will never
 * come, and previews and search answer 503 processing_off, after the same permission checks as ever.
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

  it('says processing is off instead of pending forever, after the usual permission checks', async () => {
    const owner = `${stack.apiUrl}/v1/users/offline`;
    await fetch(`${stack.apiUrl}/v1/users/stranger`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    const file = `${owner}/files/notes/lab.txt`;
    const put = await fetch(file, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'haemoglobin 13.5',
    });
    expect(put.status).toBe(201);
    // The metadata says nothing of processing: none will ever happen.
    const meta = (await (await fetch(`${file}?metadata`)).json()) as Record<string, unknown>;
    expect(meta.path).toBe('notes/lab.txt');
    expect(meta).not.toHaveProperty('processing');

    const off = async (res: Response) => {
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.headers.get('retry-after')).toBeNull(); // waiting does not help
      const problem = (await res.json()) as { code: string; detail: string; requestId?: string };
      expect(problem.code).toBe('processing_off');
      expect(problem.detail).toMatch(/NATS_URL/);
      expect(res.headers.get('x-request-id')).toBeTruthy();
    };
    await off(await fetch(`${file}?preview=256`));
    await off(await fetch(`${owner}/search?q=haemoglobin`));
    // Checked as before: a bad size, a missing file, a stranger.
    expect((await fetch(`${file}?preview=999`)).status).toBe(400);
    expect((await fetch(`${owner}/files/notes/none.txt?preview=256`)).status).toBe(404);
    expect((await fetch(`${file}?preview=256`, { as: 'stranger' })).status).toBe(404);
    expect((await fetch(`${owner}/search?q=haemoglobin`, { as: 'stranger' })).status).toBe(403);
    expect((await fetch(`${owner}/search?q=`)).status).toBe(400);
  });

  it('says once, at start-up, in the api and in the worker, that events are off', () => {
    for (const process of [stack.api, stack.workers[0]]) {
      const lines = logRecords(process?.lines ?? []).filter((r) => /events are off/.test(String(r.msg)));
      expect(lines, process?.name).toHaveLength(1);
      expect(lines[0]?.msg).toMatch(/NATS_URL is empty/);
    }
  });
});
