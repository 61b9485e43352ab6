/**
 * File processing end to end on real processes: MinIO, nats-server with JetStream, a broker, 2 workers
 * and the api. Previews of each supported type (sizes, format, ETag, 304), 202 while a file waits, 415
 * where none can exist, hostile files (a decompression bomb, a PDF over the page limit) refused within
 * the limits, reprocessing after an overwrite, nothing derived left after a delete or an account's
 * erasure, the file's read permission on its preview, and a job whose worker is SIGKILLed mid-job done
 * once in effect by another.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, type NatsServer, startMinio, startNats } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { derivedPrefix, derivedRoot } from '../../worker/processing/derived-keys.ts';
import { S3ObjectStore } from '../../worker/storage/s3-store.ts';
import { ActingFetch } from '../helpers/accounts.ts';
import { killWorker, waitFor } from '../helpers/chaos.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { makeImage, makeNoiseImage, makePdf, pngBomb } from '../helpers/processing-fixtures.ts';
import { logRecords, startTestStack } from '../helpers/test-stack.ts';

const acting = new ActingFetch();
const fetch = acting.fetch;
const BUCKET = 'file-processing';

let minio: MinioServer;
let nats: NatsServer;
let stack: LocalStack;
let store: S3ObjectStore;
let api: string;

beforeAll(async () => {
  [minio, nats] = await Promise.all([startMinio(), startNats({ jetstream: true })]);
  stack = await startTestStack({
    workers: 2,
    env: {
      NATS_URL: nats.url,
      ...minioEnv(minio, BUCKET),
      PROCESSING_MAX_PDF_PAGES: '40',
      PROCESSING_ACK_WAIT_MS: '2000',
      PROCESSING_RETRY_BASE_MS: '200',
      ERASURE_SETTLE_MS: '1000',
      ERASURE_SCAN_MS: '500',
    },
  });
  api = stack.apiUrl;
  store = new S3ObjectStore({
    endpoint: minio.endpoint,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    bucket: BUCKET,
    region: 'us-east-1',
  });
  for (const name of ['pat', 'clinic', 'stranger']) {
    expect(
      (await fetch(`${api}/v1/users/${name}`, { method: 'PUT', body: '{}', headers: json })).status,
    ).toBe(201);
  }
}, 90_000);

afterAll(async () => {
  await stack?.stop('SIGKILL');
  await store?.close();
  await Promise.all([minio?.stop(), nats?.stop()]);
});

const json = { 'content-type': 'application/json' };
const fileUrl = (path: string, owner = 'pat') => `${api}/v1/users/${owner}/files/${path}`;

async function put(path: string, body: Uint8Array | string, contentType: string, owner = 'pat') {
  const res = await fetch(fileUrl(path, owner), {
    method: 'PUT',
    body,
    headers: { 'content-type': contentType },
  });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as { etag: string };
}

interface Metadata {
  etag: string;
  processing?: { state: string; reason?: string };
}
const metadata = async (path: string, owner = 'pat') =>
  (await (await fetch(`${fileUrl(path, owner)}?metadata`)).json()) as Metadata;

/** Waits until the file's current version is processed; its metadata then. */
const processed = (path: string, owner = 'pat') =>
  waitFor(
    `${path} processed`,
    async () => {
      const meta = await metadata(path, owner);
      return meta.processing?.state === 'pending' ? undefined : meta;
    },
    30_000,
    100,
  );

const derivedKeys = async (owner: string, prefix: string) => {
  const keys: string[] = [];
  let startAfter: string | undefined;
  do {
    const page = await store.list(prefix, startAfter === undefined ? {} : { startAfter });
    keys.push(...page.items.map((item) => item.key));
    startAfter = page.next;
  } while (startAfter !== undefined);
  return keys.filter((key) => key.startsWith(derivedRoot(owner)));
};

describe('previews', () => {
  it.each([
    ['png', 'image/png'],
    ['jpeg', 'image/jpeg'],
    ['webp', 'image/webp'],
  ] as const)('are made of a %s image in both sizes, never enlarged', async (format, type) => {
    const path = `photos/wide.${format}`;
    await put(path, await makeImage(format, 2000, 1000), type);
    expect((await processed(path)).processing).toEqual({ state: 'done' });
    const big = await fetch(`${fileUrl(path)}?preview=1024`);
    expect(big.status).toBe(200);
    expect(big.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await big.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 1024, 512]);
    const small = await sharp(
      Buffer.from(await (await fetch(`${fileUrl(path)}?preview=256`)).arrayBuffer()),
    ).metadata();
    expect([small.width, small.height]).toEqual([256, 128]);

    await put('photos/tiny.png', await makeImage('png', 100, 50), 'image/png');
    await processed('photos/tiny.png');
    const tiny = await sharp(
      Buffer.from(await (await fetch(`${fileUrl('photos/tiny.png')}?preview=1024`)).arrayBuffer()),
    ).metadata();
    expect([tiny.width, tiny.height]).toEqual([100, 50]);
  });

  it('are made of the first page of a PDF', async () => {
    await put(
      'medical/lab.pdf',
      await makePdf(3, { text: (n) => (n === 1 ? ['Potassium 4.1 mmol/L'] : []) }),
      'application/pdf',
    );
    expect((await processed('medical/lab.pdf')).processing).toEqual({ state: 'done' });
    const res = await fetch(`${fileUrl('medical/lab.pdf')}?preview=256`);
    expect(res.status).toBe(200);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    expect(meta.format).toBe('webp');
    expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBe(256);
    expect(meta.width).toBeLessThan(meta.height ?? 0); // a portrait page
  });

  it('carry an ETag of the file version, answer 304 to it, and change with an overwrite', async () => {
    const path = 'photos/versioned.png';
    await put(path, await makeImage('png', 400, 300), 'image/png');
    await processed(path);
    const first = await fetch(`${fileUrl(path)}?preview=256`);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+-p256"$/);
    expect((await fetch(`${fileUrl(path)}?preview=256`, { headers: { 'if-none-match': etag } })).status).toBe(
      304,
    );

    await put(path, await makeImage('png', 300, 400), 'image/png');
    await processed(path);
    const second = await fetch(`${fileUrl(path)}?preview=256`);
    expect(second.headers.get('etag')).not.toBe(etag);
    const meta = await sharp(Buffer.from(await second.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([192, 256]);
    // only the current version's derived data is kept
    const versions = new Set(
      (await derivedKeys('pat', derivedPrefix('pat', path))).map((key) => key.split('/').at(-2)),
    );
    expect(versions).toEqual(new Set([(await metadata(path)).etag]));
  });

  it('answer 202 with Retry-After while the file waits to be processed', async () => {
    const paths = ['queue/1.jpg', 'queue/2.jpg', 'queue/3.jpg', 'queue/4.jpg'];
    const noise = await makeNoiseImage(2400, 2400);
    for (const path of paths) await put(path, noise, 'image/jpeg');
    const res = await fetch(`${fileUrl(paths.at(-1) as string)}?preview=256`);
    expect(res.status).toBe(202);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({ processing: 'pending' });
    for (const path of paths) await processed(path);
    expect((await fetch(`${fileUrl(paths.at(-1) as string)}?preview=256`)).status).toBe(200);
    // Four 2400 × 2400 photos, one job at a time: on a busy 2-core machine more than the default 30 s.
  }, 120_000);

  it('answer 415 where none can exist, and 400 for a size that is not offered', async () => {
    await put('notes/plan.md', '# plan\n\nwalk daily', 'text/markdown');
    await put('misc/blob.bin', Buffer.from([1, 2, 3, 4, 5]), 'application/octet-stream');
    for (const path of ['notes/plan.md', 'misc/blob.bin']) {
      expect((await processed(path)).processing?.state).toBe('done');
      const res = await fetch(`${fileUrl(path)}?preview=256`);
      expect(res.status).toBe(415);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(await res.json()).toMatchObject({ code: 'no_preview' });
    }
    for (const size of ['300', 'abc', '']) {
      const res = await fetch(`${fileUrl('photos/wide.png')}?preview=${size}`);
      expect(res.status).toBe(400);
      expect(res.headers.get('x-request-id')).toBeTruthy();
    }
  });

  it('are read with the permission of the file itself', async () => {
    const grant = await fetch(`${api}/v1/users/pat/grants/clinic`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ modes: ['read'], scope: '/medical/' }),
    });
    expect(grant.status).toBe(200);
    expect((await fetch(`${fileUrl('medical/lab.pdf')}?preview=256`, { as: 'clinic' })).status).toBe(200);
    expect([403, 404]).toContain(
      (await fetch(`${fileUrl('photos/wide.png')}?preview=256`, { as: 'clinic' })).status,
    );
    expect([403, 404]).toContain(
      (await fetch(`${fileUrl('medical/lab.pdf')}?preview=256`, { as: 'stranger' })).status,
    );
    expect((await fetch(`${fileUrl('medical/lab.pdf')}?preview=256`, { as: null })).status).toBe(401);
  });
});

describe('hostile files', () => {
  it('a decompression bomb is refused by its header, cheaply, and the worker stays up', async () => {
    const bomb = pngBomb(30_000, 30_000);
    expect(bomb.length).toBeLessThan(100_000);
    await put('evil/bomb.png', bomb, 'image/png');
    const meta = await processed('evil/bomb.png');
    expect(meta.processing).toMatchObject({ state: 'failed', reason: 'too_many_pixels' });
    const res = await fetch(`${fileUrl('evil/bomb.png')}?preview=256`);
    expect(res.status).toBe(415);
    expect(stack.workers.every((w) => w.child.exitCode === null)).toBe(true);
  });

  it('a PDF over the page limit is refused', async () => {
    await put('evil/long.pdf', await makePdf(41), 'application/pdf');
    expect((await processed('evil/long.pdf')).processing).toMatchObject({
      state: 'failed',
      reason: 'too_many_pages',
    });
  });

  it('bytes that lie about their type are not taken for it', async () => {
    await put('evil/fake.png', Buffer.from('this is not a picture at all'), 'image/png');
    const meta = await processed('evil/fake.png');
    expect(meta.processing?.state).not.toBe('pending');
    expect((await fetch(`${fileUrl('evil/fake.png')}?preview=256`)).status).toBe(415);
  });
});

describe('derived data never outlives its source', () => {
  it('goes with a deleted file', async () => {
    await put('photos/gone.png', await makeImage('png', 300, 300), 'image/png');
    await processed('photos/gone.png');
    expect(await derivedKeys('pat', derivedPrefix('pat', 'photos/gone.png'))).not.toEqual([]);
    expect((await fetch(fileUrl('photos/gone.png'), { method: 'DELETE' })).status).toBe(204);
    await waitFor(
      'derived data removed',
      async () => (await derivedKeys('pat', derivedPrefix('pat', 'photos/gone.png'))).length === 0,
    );
  });

  it('goes with an erased account, and the name signed up again sees none of it', async () => {
    expect((await fetch(`${api}/v1/users/temp`, { method: 'PUT', body: '{}', headers: json })).status).toBe(
      201,
    );
    await put('a.png', await makeImage('png', 300, 300), 'image/png', 'temp');
    await processed('a.png', 'temp');
    expect(await derivedKeys('temp', derivedRoot('temp'))).not.toEqual([]);
    expect([202, 204]).toContain((await fetch(`${api}/v1/users/temp`, { method: 'DELETE' })).status);
    await waitFor(
      'erased',
      async () => (await derivedKeys('temp', derivedRoot('temp'))).length === 0,
      30_000,
      200,
    );
    expect((await fetch(`${api}/v1/users/temp`, { method: 'PUT', body: '{}', headers: json })).status).toBe(
      201,
    );
    expect((await fetch(`${fileUrl('a.png', 'temp')}?preview=256`)).status).toBe(404);
  });
});

describe('a worker SIGKILLed mid-job', () => {
  it('leaves the job to another worker, and it is done once in effect', async () => {
    const path = 'scans/heavy.jpg';
    const before = stack.workers.map((w) => w.lines.length);
    await put(path, await makeNoiseImage(4000, 4000), 'image/jpeg');
    const victim = await waitFor(
      'a worker starts the job',
      () =>
        stack.workers.findIndex(
          (w, i) =>
            w.child.exitCode === null &&
            logRecords(w.lines.slice(before[i] ?? 0)).some(
              (r) => r.msg === 'processing job started' && r.path === path,
            ),
        ) + 1 || undefined,
      20_000,
      5,
    );
    await killWorker(stack, victim - 1);
    stack.addWorker();
    const meta = await processed(path);
    expect(meta.processing).toEqual({ state: 'done' });
    const keys = await derivedKeys('pat', derivedPrefix('pat', path));
    expect(keys.map((key) => key.split('/').slice(-2).join('/')).sort()).toEqual(
      [`${meta.etag}/preview-1024.webp`, `${meta.etag}/preview-256.webp`, `${meta.etag}/status.json`].sort(),
    );
    expect((await fetch(`${fileUrl(path)}?preview=256`)).status).toBe(200);
  }, 60_000);
});
