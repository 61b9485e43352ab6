/**
 * Account erasure end to end on real processes (MinIO, nats-server with JetStream, broker, workers,
 * api): an account is an incarnation, not a name. Nothing of a deleted account reaches a later account
 * of the same name (events, files, audit entries, webhooks, idempotency records, an upload still in
 * flight), and the erasure of a large pod is durable: a tombstone at once, a purge that a second worker
 * resumes when the first is SIGKILLed, a status that says when it is complete.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, type NatsServer, startMinio, startNats } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { etagFor, type FileRecord, serializeRecord } from '../../worker/files/file-record.ts';
import { S3ObjectStore } from '../../worker/storage/s3-store.ts';
import { ActingFetch, bearer } from '../helpers/accounts.ts';
import {
  killWorker,
  liveWorkers,
  manualUpload,
  metric,
  waitFor,
  workerMetricsUrl,
} from '../helpers/chaos.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { SseClient } from '../helpers/sse-client.ts';
import { startTestStack } from '../helpers/test-stack.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

interface Ev {
  kind: string;
  owner: string;
  actor: string | null;
  path?: string;
  time: string;
}

let minio: MinioServer;
let nats: NatsServer;
let receiver: WebhookReceiver;
const clients: SseClient[] = [];

const storeFor = (bucket: string) =>
  new S3ObjectStore({
    endpoint: minio.endpoint,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    bucket,
    region: 'us-east-1',
  });

const stackEnv = (bucket: string, extra: Record<string, string>) => ({
  NATS_URL: nats.url,
  ...minioEnv(minio, bucket),
  WEBHOOK_ALLOW_HOSTS: `127.0.0.1:${receiver.port}`,
  WEBHOOK_RETRY_BASE_MS: '300',
  ERASURE_SETTLE_MS: '1000',
  ERASURE_SCAN_MS: '500',
  ...extra,
});

beforeAll(async () => {
  [minio, nats, receiver] = await Promise.all([
    startMinio(),
    startNats({ jetstream: true }),
    startWebhookReceiver(),
  ]);
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all([minio?.stop(), nats?.stop(), receiver?.close()]);
});

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

async function watch(url: string, token: string, lastEventId = '0'): Promise<SseClient> {
  const client = await SseClient.open(url, { ...bearer(token), 'last-event-id': lastEventId });
  clients.push(client);
  expect(client.status).toBe(200);
  return client;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('an account is an incarnation, not a name', () => {
  let stack: LocalStack;
  let base: string;
  let names: S3ObjectStore;
  const store = () => names;
  const acting = new ActingFetch();
  const fetch = acting.fetch;
  const signUp = async (name: string) => {
    const res = await fetch(`${base}/v1/users/${name}`, { method: 'PUT', ...json({}) });
    expect(res.status).toBe(201);
    return acting.tokens.get(name) as string;
  };
  const grant = (owner: string, grantee: string, body: object) =>
    fetch(`${base}/v1/users/${owner}/grants/${grantee}`, { method: 'PUT', ...json(body) });

  beforeAll(async () => {
    stack = await startTestStack({ workers: 2, env: stackEnv('erasure-names', {}) });
    base = stack.apiUrl;
    names = storeFor('erasure-names');
  }, 120_000);

  afterAll(async () => {
    await names?.close();
    await stack?.stop();
  });

  it('replays none of the old account’s events, and leaves it no files, audit entries or webhooks', async () => {
    await signUp('reborn');
    await signUp('snoop');
    expect(
      (await fetch(`${base}/v1/users/reborn/files/secret/diagnosis.txt`, { method: 'PUT', body: 'x' }))
        .status,
    ).toBe(201);
    // A refused request by someone else: an audit entry of the old account.
    expect((await fetch(`${base}/v1/users/reborn/files/secret/diagnosis.txt`, { as: 'snoop' })).status).toBe(
      404,
    );
    // The old account's webhook fails every delivery, so its jobs are still being retried later.
    receiver.answer('/old-hook', [500]);
    const hook = { url: receiver.url('/old-hook'), secret: 'old-secret-old-secret' };
    expect(
      (await fetch(`${base}/v1/users/reborn/webhooks/hook`, { method: 'PUT', ...json(hook) })).status,
    ).toBe(201);
    expect(
      (await fetch(`${base}/v1/users/reborn`, { method: 'PATCH', ...json({ diagnosis: 'private' }) })).status,
    ).toBe(200);
    await waitFor('a failed delivery to the old webhook', () =>
      receiver.deliveries.some((d) => d.path === '/old-hook'),
    );
    // Past the broker's quiet time (1 s in tests), the pod's home remembers the file and the account.
    await sleep(1100);
    for (let i = 0; i < 2; i++) {
      expect(await (await fetch(`${base}/v1/users/reborn/files/secret/diagnosis.txt`)).text()).toBe('x');
      expect(await (await fetch(`${base}/v1/users/reborn`)).json()).toMatchObject({ diagnosis: 'private' });
    }

    expect((await fetch(`${base}/v1/users/reborn`, { method: 'DELETE' })).status).toBe(204);
    const fresh = await signUp('reborn');
    // Nothing the home remembered of the old account reaches the new one.
    expect((await fetch(`${base}/v1/users/reborn/files/secret/diagnosis.txt`)).status).toBe(404);
    const renewed = (await (await fetch(`${base}/v1/users/reborn`)).json()) as Record<string, unknown>;
    expect(renewed).not.toHaveProperty('diagnosis');
    const newHook = { url: receiver.url('/new-hook'), secret: 'new-secret-new-secret' };
    expect(
      (await fetch(`${base}/v1/users/reborn/webhooks/hook`, { method: 'PUT', ...json(newHook) })).status,
    ).toBe(201);

    // The whole history of the name, from its first event: only the new account's own.
    const history = await watch(`${base}/v1/users/reborn/events`, fresh);
    await history.until((c) => c.events.length >= 1, 5000, 'the new account’s creation');
    await sleep(1500);
    expect(history.json<Ev>().map((e) => e.kind)).toEqual(['user.created']);

    const files = await fetch(`${base}/v1/users/reborn/files/`);
    expect(((await files.json()) as { items: unknown[] }).items).toEqual([]);
    const audit = await fetch(`${base}/v1/users/reborn/audit`);
    expect(((await audit.json()) as { entries: unknown[] }).entries).toEqual([]);
    const hooks = (await (await fetch(`${base}/v1/users/reborn/webhooks`)).json()) as {
      items: { url: string; deliveries: unknown[] }[];
    };
    expect(hooks.items.map((h) => [h.url, h.deliveries])).toEqual([[newHook.url, []]]);
    expect(await store().list('users/reborn/files/')).toMatchObject({ items: [] });

    // The old account's deliveries still due for a retry go nowhere: not to the new account's webhook.
    await sleep(6000);
    expect(receiver.deliveries.filter((d) => d.path === '/new-hook')).toEqual([]);
  }, 60_000);

  it('gives a later caller of a deleted name none of its idempotency records, nor events from before its grant', async () => {
    await signUp('keeper');
    await signUp('poster');
    expect((await grant('keeper', 'poster', { modes: ['append', 'read'], scope: '/' })).status).toBe(200);
    expect(
      (await fetch(`${base}/v1/users/keeper/files/before.txt`, { method: 'PUT', body: 'b' })).status,
    ).toBe(201);
    const post = () =>
      fetch(`${base}/v1/users/keeper/files/inbox/`, {
        method: 'POST',
        as: 'poster',
        headers: { 'idempotency-key': '"same-key"', slug: 'note.txt', 'content-type': 'text/plain' },
        body: 'a note',
      });
    const first = await post();
    expect(first.status).toBe(201);

    expect((await fetch(`${base}/v1/users/poster`, { method: 'DELETE' })).status).toBe(204);
    await signUp('poster');
    // The old grant is not the new account's (nor shown to anyone any more), nor is any of it kept when
    // the owner grants the new one.
    expect((await fetch(`${base}/v1/users/keeper/files/before.txt`, { as: 'poster' })).status).toBe(404);
    expect((await fetch(`${base}/v1/users/keeper/grants/poster`, { as: 'poster' })).status).toBe(404);
    const listed = (await (await fetch(`${base}/v1/users/keeper/grants`)).json()) as {
      grants: { grantee: string }[];
    };
    expect(listed.grants.map((g) => g.grantee)).not.toContain('poster');
    expect((await grant('keeper', 'poster', { modes: ['append', 'read'], scope: '/inbox/' })).status).toBe(
      200,
    );
    expect((await fetch(`${base}/v1/users/keeper/files/before.txt`, { as: 'poster' })).status).toBe(404);
    const granted = (await (await fetch(`${base}/v1/users/keeper/grants/poster`)).json()) as {
      entries: { scope: string }[];
    };
    expect(granted.entries.map((e) => e.scope)).toEqual(['/inbox/']);
    const watcher = await watch(`${base}/v1/users/keeper/events`, acting.tokens.get('poster') as string);

    // The same key and request from the new account: a new file, not the old account's answer.
    const second = await post();
    expect(second.status).toBe(201);
    expect(second.headers.get('location')).not.toBe(first.headers.get('location'));
    const inbox = (await (await fetch(`${base}/v1/users/keeper/files/inbox/`)).json()) as {
      items: unknown[];
    };
    expect(inbox.items).toHaveLength(2);

    // From the first event on, the new grantee sees only what happened since it was granted.
    await watcher.until((c) => c.events.length >= 1, 5000, 'the new post');
    await sleep(1500);
    const secondPath = decodeURIComponent(
      (second.headers.get('location') as string).replace('/v1/users/keeper/files/', ''),
    );
    expect(watcher.json<Ev>().map((e) => [e.kind, e.path])).toEqual([['file.created', secondPath]]);
  }, 60_000);

  it('commits nothing of an upload that outlives its pod’s account, neither there nor in the next account', async () => {
    await signUp('mortal');
    await signUp('courier');
    expect((await grant('mortal', 'courier', { modes: ['write'], scope: '/' })).status).toBe(200);
    const upload = manualUpload(`${base}/v1/users/mortal/files/late.txt`, 'PUT', {
      ...bearer(acting.tokens.get('courier') as string),
      'content-type': 'text/plain',
    });
    upload.write(Buffer.from('the first part, '));
    await sleep(500); // planned: the account was alive when the upload began

    expect((await fetch(`${base}/v1/users/mortal`, { method: 'DELETE' })).status).toBe(204);
    await signUp('mortal');
    upload.write(Buffer.from('and the last'));
    upload.end();
    const answer = await upload.answer;
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body.toString()).detail).toMatch(/deleted/);

    expect((await fetch(`${base}/v1/users/mortal/files/late.txt`)).status).toBe(404);
    const root = (await (await fetch(`${base}/v1/users/mortal/files/`)).json()) as { items: unknown[] };
    expect(root.items).toEqual([]);
    await waitFor('the upload’s bytes removed', async () => {
      const blobs = await store().list('users/mortal/blobs/');
      return blobs.items.length === 0;
    });
    expect((await store().list('users/mortal/files/')).items).toEqual([]);
  }, 60_000);
});

describe('erasure of a large pod', () => {
  let stack: LocalStack;
  let base: string;
  const bucket = 'erasure-large';
  const FILES = 1500;

  beforeAll(async () => {
    stack = await startTestStack({
      workers: 2,
      workerMetrics: true,
      env: stackEnv(bucket, {
        // A short inline budget and small pages stand in for the 30 s deadline and 45k files.
        ERASURE_INLINE_MS: '200',
        ERASURE_PAGE_SIZE: '25',
        ERASURE_LEASE_MS: '2000',
      }),
    });
    base = stack.apiUrl;
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  /** Files written straight into the store, as the workers lay them out (a record and a blob each). */
  async function seed(owner: string, count: number): Promise<void> {
    const store = storeFor(bucket);
    const now = new Date().toISOString();
    for (let i = 0; i < count; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, count - i) }, async (_, j) => {
          const n = i + j;
          const blob = `users/${owner}/blobs/${randomUUID()}`;
          await store.put(blob, Buffer.from(`file ${n}`));
          const record: FileRecord = {
            path: `records/${n % 30}/file-${n}.txt`,
            size: Buffer.byteLength(`file ${n}`),
            contentType: 'text/plain',
            sha256: '0'.repeat(64),
            etag: etagFor('0'.repeat(64), 1),
            author: owner,
            createdAt: now,
            updatedAt: now,
            tags: [],
            description: '',
            revision: 1,
            blob,
          };
          await store.put(`users/${owner}/files/${record.path}`, serializeRecord(record), {
            contentType: 'application/json',
          });
        }),
      );
    }
    await store.close();
  }

  const workerRunning = async (): Promise<number | undefined> => {
    for (const i of liveWorkers(stack)) {
      if ((await metric(workerMetricsUrl(stack, i), 'podstore_worker_erasures_running')) > 0) return i;
    }
    return undefined;
  };

  it('answers 202 with a tombstone at once, finishes after its worker is SIGKILLed, and says when it is done', async () => {
    const signUp = await fetch(`${base}/v1/users/big-pod`, { method: 'PUT', ...json({}) });
    expect(signUp.status).toBe(201);
    const token = ((await signUp.json()) as { token: string }).token;
    const put = await fetch(`${base}/v1/users/big-pod/files/notes/hello.txt`, {
      method: 'PUT',
      headers: bearer(token),
      body: 'hello',
    });
    expect(put.status).toBe(201);
    await seed('big-pod', FILES);
    const store = storeFor(bucket);

    const deleted = await fetch(`${base}/v1/users/big-pod`, { method: 'DELETE', headers: bearer(token) });
    expect(deleted.status).toBe(202);
    const location = deleted.headers.get('location') as string;
    expect(location).toMatch(/^\/v1\/erasures\/[0-9a-f-]{36}$/);
    expect(await deleted.json()).toMatchObject({ state: 'erasing', completedAt: null });

    // The purge goes on in the background on one worker: kill it in the middle.
    const runner = await waitFor('the worker running the erasure', workerRunning, 10_000, 20);
    await killWorker(stack, runner);
    const left = (await store.list('users/big-pod/', { limit: 1000 })).items.length;
    expect(left).toBeGreaterThan(0);
    await waitFor('the broker to see one worker', async () => {
      const ready = (await (await fetch(`${base}/readyz`)).json()) as { workers?: number };
      return ready.workers === 1;
    });

    // Meanwhile the account is gone, its name taken, and the erasure visible to whoever asked for it.
    expect((await fetch(`${base}/v1/users/big-pod`, { headers: bearer(token) })).status).toBe(401);
    const taken = await fetch(`${base}/v1/users/big-pod`, { method: 'PUT', ...json({}) });
    expect(taken.status).toBe(409);
    expect(((await taken.json()) as { detail: string }).detail).toMatch(/being erased/);
    const pending = await fetch(`${base}${location}`);
    expect(pending.status).toBe(200);
    expect(await pending.json()).toMatchObject({ state: 'erasing' });

    // The other worker finds the lapsed lease and finishes it.
    const done = await waitFor(
      'the erasure to complete',
      async () => {
        const status = (await (await fetch(`${base}${location}`)).json()) as { state: string };
        return status.state === 'done' ? status : undefined;
      },
      90_000,
      250,
    );
    expect(done).toMatchObject({ state: 'done', objectsRemoved: expect.any(Number) });
    expect((done as unknown as { completedAt: string }).completedAt).not.toBeNull();
    expect((await store.list('users/big-pod/')).items).toEqual([]);
    expect((await store.list('erasure/tombstones/')).items).toEqual([]);
    const survivor = liveWorkers(stack)[0] as number;
    expect(await metric(workerMetricsUrl(stack, survivor), 'podstore_worker_erasures_resumed_total')).toBe(1);
    expect(await metric(workerMetricsUrl(stack, survivor), 'podstore_worker_erasures_completed_total')).toBe(
      1,
    );

    // Now, and only now, the name is free: a new account starts empty.
    const again = await fetch(`${base}/v1/users/big-pod`, { method: 'PUT', ...json({}) });
    expect(again.status).toBe(201);
    const fresh = ((await again.json()) as { token: string }).token;
    const root = await fetch(`${base}/v1/users/big-pod/files/`, { headers: bearer(fresh) });
    expect(((await root.json()) as { items: unknown[] }).items).toEqual([]);
    expect((await fetch(`${base}/v1/erasures/${randomUUID()}`)).status).toBe(404);
    expect((await fetch(`${base}/v1/erasures/not-an-id`)).status).toBe(400);
    await store.close();
  }, 180_000);
});
