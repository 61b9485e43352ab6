/**
 * Pod files end to end (api → broker → workers → store, real processes), once on MinIO and once on the
 * filesystem adapter: streamed transfers, conditional and range requests, folders, metadata, bad input,
 * cancelled transfers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MinioServer, startMinio } from '../../deploy/local/servers.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { parseRecord } from '../../worker/files/file-record.ts';
import { FsObjectStore } from '../../worker/storage/fs-store.ts';
import type { ObjectStore } from '../../worker/storage/object-store.ts';
import { S3ObjectStore } from '../../worker/storage/s3-store.ts';
import { ActingFetch, bearer } from '../helpers/accounts.ts';
import { minioEnv } from '../helpers/minio-env.ts';
import { startTestStack } from '../helpers/test-stack.ts';

const acting = new ActingFetch();
const fetch = acting.fetch;
const ownerToken = (path: string) =>
  bearer(acting.tokens.get(/\/v1\/users\/([^/]+)/.exec(path)?.[1] ?? '') ?? '');

const MAX_FILE_BYTES = 48 * 1024 * 1024;
/** FILES_INLINE_MAX_BYTES of this stack: smaller than the default, to see both sides of it. */
const INLINE_MAX_BYTES = 4096;

interface Backend {
  name: string;
  start(): Promise<{ env: Record<string, string>; store: ObjectStore; stop(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'MinIO',
    async start() {
      const minio: MinioServer = await startMinio();
      const bucket = 'files-stack';
      const store = new S3ObjectStore({
        endpoint: minio.endpoint,
        accessKey: minio.accessKey,
        secretKey: minio.secretKey,
        bucket,
        region: 'us-east-1',
      });
      return {
        env: {
          ...minioEnv(minio, bucket),
        },
        store,
        stop: async () => {
          await store.close();
          await minio.stop();
        },
      };
    },
  },
  {
    name: 'filesystem',
    async start() {
      const dir = await mkdtemp(join(tmpdir(), 'podstore-files-'));
      return {
        env: { DATA_DIR: dir },
        store: new FsObjectStore(dir),
        stop: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
];

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A request with the path sent exactly as given (fetch would normalise `..` and `.` away). */
function raw(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...ownerToken(path), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe.each(backends)('files on $name', (backend) => {
  let stack: LocalStack;
  let store: ObjectStore;
  let stopBackend: () => Promise<void>;
  let base: string;
  const owner = 'patient';
  const files = (path: string) => `${base}/v1/users/${owner}/files/${path}`;
  const put = (path: string, body: Buffer | string, headers: Record<string, string> = {}) =>
    fetch(files(path), {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', ...headers },
      body,
    });

  beforeAll(async () => {
    acting.tokens.clear(); // a fresh stack: tokens of the previous one mean nothing here
    const started = await backend.start();
    store = started.store;
    stopBackend = started.stop;
    stack = await startTestStack({
      workers: 2,
      workerMetrics: true,
      env: {
        ...started.env,
        MAX_FILE_BYTES: String(MAX_FILE_BYTES),
        STREAM_IDLE_MS: '3000',
        FILES_INLINE_MAX_BYTES: String(INLINE_MAX_BYTES),
      },
    });
    base = stack.apiUrl;
    const created = await fetch(`${base}/v1/users/${owner}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"Pat"}',
    });
    expect(created.status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    await stopBackend?.();
  });

  it('creates, reads, replaces and deletes a file, with its metadata in headers', async () => {
    const created = await put('notes/hello.txt', 'hello, pod', {
      'content-type': 'text/plain; charset=utf-8',
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/users/${owner}/files/notes/hello.txt`);
    const info = (await created.json()) as {
      size: number;
      sha256: string;
      etag: string;
      contentType: string;
    };
    expect(info).toMatchObject({
      size: 10,
      sha256: sha256(Buffer.from('hello, pod')),
      contentType: 'text/plain; charset=utf-8',
    });
    expect(created.headers.get('etag')).toBe(`"${info.etag}"`);

    const got = await fetch(files('notes/hello.txt'));
    expect(got.status).toBe(200);
    expect(await got.text()).toBe('hello, pod');
    expect(got.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(got.headers.get('content-length')).toBe('10');
    expect(got.headers.get('etag')).toBe(`"${info.etag}"`);
    expect(got.headers.get('last-modified')).toMatch(/GMT$/);
    expect(got.headers.get('repr-digest')).toBe(
      `sha-256=:${createHash('sha256').update('hello, pod').digest('base64')}:`,
    );

    const head = await fetch(files('notes/hello.txt'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('10');
    expect(head.headers.get('etag')).toBe(`"${info.etag}"`);

    const replaced = await put('notes/hello.txt', 'hello again');
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get('etag')).not.toBe(`"${info.etag}"`);
    expect(await (await fetch(files('notes/hello.txt'))).text()).toBe('hello again');

    expect((await fetch(files('notes/hello.txt'), { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(files('notes/hello.txt'))).status).toBe(404);
    expect((await fetch(files('notes/hello.txt'), { method: 'DELETE' })).status).toBe(404);
  });

  it('streams a multi-megabyte binary file both ways unchanged, and an empty one', async () => {
    const data = randomBytes(9 * 1024 * 1024 + 123);
    const res = await put('scans/ct.bin', data);
    expect(res.status).toBe(201);
    const back = Buffer.from(await (await fetch(files('scans/ct.bin'))).arrayBuffer());
    expect(back.length).toBe(data.length);
    expect(sha256(back)).toBe(sha256(data));

    expect((await put('empty.bin', Buffer.alloc(0))).status).toBe(201);
    const empty = await fetch(files('empty.bin'));
    expect(empty.status).toBe(200);
    expect((await empty.arrayBuffer()).byteLength).toBe(0);
  });

  it('keeps a file up to FILES_INLINE_MAX_BYTES inside its document, a larger one as a blob', async () => {
    const blobs = async () =>
      (await store.list(`users/${owner}/blobs/`, { limit: 10_000 })).items.map((i) => i.key);
    const record = async (path: string) => {
      const object = await store.get(`users/${owner}/files/inline/${path}`);
      if (object === undefined) throw new Error(`no record for ${path}`);
      return parseRecord(object.body);
    };
    const before = await blobs();
    const small = randomBytes(100);
    const atLimit = randomBytes(INLINE_MAX_BYTES);
    const over = randomBytes(INLINE_MAX_BYTES + 1);
    for (const [path, data] of [
      ['small.bin', small],
      ['at-limit.bin', atLimit],
      ['over.bin', over],
    ] as const) {
      expect((await put(`inline/${path}`, data)).status).toBe(201);
      const back = Buffer.from(await (await fetch(files(`inline/${path}`))).arrayBuffer());
      expect(sha256(back)).toBe(sha256(data));
    }
    expect((await record('small.bin')).inlineBytes?.equals(small)).toBe(true);
    expect((await record('at-limit.bin')).blob).toBeUndefined();
    const overRecord = await record('over.bin');
    expect(overRecord.inlineBytes).toBeUndefined();
    expect((await blobs()).filter((k) => !before.includes(k))).toEqual([overRecord.blob]);
    // A range of an inline file, and its metadata as for any file.
    const range = await fetch(files('inline/at-limit.bin'), { headers: { range: 'bytes=10-19' } });
    expect(range.status).toBe(206);
    expect(Buffer.from(await range.arrayBuffer()).equals(atLimit.subarray(10, 20))).toBe(true);
    const head = await fetch(files('inline/small.bin'), { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe('100');
    // Large → small: the blob goes; small → large: a new blob, and the bytes are the new ones.
    expect((await put('inline/over.bin', small)).status).toBe(200);
    await waitFor(async () => !(await blobs()).includes(overRecord.blob as string));
    expect((await record('over.bin')).inlineBytes?.equals(small)).toBe(true);
    expect((await put('inline/small.bin', over)).status).toBe(200);
    expect(sha256(Buffer.from(await (await fetch(files('inline/small.bin'))).arrayBuffer()))).toBe(
      sha256(over),
    );
    expect((await record('small.bin')).blob).toBeDefined();
    // A metadata patch keeps the bytes inside the document.
    const patched = await fetch(files('inline/at-limit.bin'), {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: '{"tags":["x"]}',
    });
    expect(patched.status).toBe(200);
    expect((await record('at-limit.bin')).inlineBytes?.equals(atLimit)).toBe(true);
    expect(sha256(Buffer.from(await (await fetch(files('inline/at-limit.bin'))).arrayBuffer()))).toBe(
      sha256(atLimit),
    );
    for (const path of ['small.bin', 'at-limit.bin', 'over.bin']) {
      expect((await fetch(files(`inline/${path}`), { method: 'DELETE' })).status).toBe(204);
    }
  });

  it('honours If-None-Match and If-Match on PUT, and If-None-Match on GET', async () => {
    const first = await put('cond.txt', 'v1', { 'if-none-match': '*' });
    expect(first.status).toBe(201);
    const etag = first.headers.get('etag') as string;
    expect((await put('cond.txt', 'v2', { 'if-none-match': '*' })).status).toBe(412);
    expect((await put('cond.txt', 'v2', { 'if-match': '"not-the-etag"' })).status).toBe(412);
    expect(await (await fetch(files('cond.txt'))).text()).toBe('v1');
    const second = await put('cond.txt', 'v2', { 'if-match': etag });
    expect(second.status).toBe(200);
    const etag2 = second.headers.get('etag') as string;
    expect((await fetch(files('cond.txt'), { headers: { 'if-none-match': etag2 } })).status).toBe(304);
    expect((await fetch(files('cond.txt'), { headers: { 'if-none-match': etag } })).status).toBe(200);
    expect((await put('absent.txt', 'x', { 'if-match': '*' })).status).toBe(412);
  });

  it('lets exactly one of many concurrent create-only PUTs win', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => put('race.txt', `writer ${i}`, { 'if-none-match': '*' })),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(9);
    const winner = results.findIndex((r) => r.status === 201);
    expect(await (await fetch(files('race.txt'))).text()).toBe(`writer ${winner}`);
  });

  it('serves single ranges (206), refuses unsatisfiable ones (416) and ignores what it does not support', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    await put('range.txt', data);
    const ask = (range: string) => fetch(files('range.txt'), { headers: { range } });
    const a = await ask('bytes=0-9');
    expect([a.status, a.headers.get('content-range'), await a.text()]).toEqual([
      206,
      'bytes 0-9/20',
      '0123456789',
    ]);
    const b = await ask('bytes=15-');
    expect([b.status, b.headers.get('content-range'), await b.text()]).toEqual([
      206,
      'bytes 15-19/20',
      'fghij',
    ]);
    const c = await ask('bytes=-3');
    expect([c.status, await c.text()]).toEqual([206, 'hij']);
    const d = await ask('bytes=5-100');
    expect([d.status, d.headers.get('content-range'), await d.text()]).toEqual([
      206,
      'bytes 5-19/20',
      '56789abcdefghij',
    ]);
    const e = await ask('bytes=20-');
    expect([e.status, e.headers.get('content-range')]).toEqual([416, 'bytes */20']);
    expect(e.headers.get('content-type')).toMatch(/problem\+json/);
    for (const ignored of ['bytes=5-2', 'bytes=0-1,3-4', 'items=0-3', 'bytes=abc']) {
      const f = await ask(ignored);
      expect([ignored, f.status, await f.text()]).toEqual([ignored, 200, data.toString()]);
    }
  });

  it('lists folders one level at a time, paginated, and keeps files and folders apart', async () => {
    for (const path of ['lab/2024/a.pdf', 'lab/2024/b.pdf', 'lab/2025/c.pdf', 'lab/index.txt', 'lab/z.txt']) {
      expect((await put(path, path)).status).toBe(201);
    }
    const lab = (await (await fetch(files('lab/'))).json()) as {
      items: { name: string; kind: string; size?: number }[];
      next: string | null;
    };
    expect(lab.items.map((i) => [i.name, i.kind])).toEqual([
      ['2024', 'folder'],
      ['2025', 'folder'],
      ['index.txt', 'file'],
      ['z.txt', 'file'],
    ]);
    expect(lab.items[2]?.size).toBe('lab/index.txt'.length);
    expect(lab.next).toBeNull();

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '?limit=1' : `?limit=1&cursor=${cursor}`;
      const page = (await (await fetch(files(`lab/${query}`))).json()) as {
        items: { name: string }[];
        next: string | null;
      };
      seen.push(...page.items.map((i) => i.name));
      cursor = page.next;
    } while (cursor !== null);
    expect(seen).toEqual(['2024', '2025', 'index.txt', 'z.txt']);

    const root = (await (await fetch(files(''))).json()) as { items: { name: string }[] };
    expect(root.items.map((i) => i.name)).toContain('lab');

    const clashFolder = await put('lab/2024', 'x');
    expect(clashFolder.status).toBe(409);
    expect(((await clashFolder.json()) as { detail: string }).detail).toMatch(/is a folder/);
    const clashFile = await put('lab/z.txt/inner', 'x');
    expect(clashFile.status).toBe(409);
    expect(((await clashFile.json()) as { detail: string }).detail).toMatch(/is a file/);
    expect((await fetch(files('nothing-here/'))).status).toBe(404);
  });

  it('creates files with server-chosen names from POST and a Slug', async () => {
    const post = (slug?: string) =>
      fetch(files('inbox/'), {
        method: 'POST',
        headers: { 'content-type': 'application/pdf', ...(slug ? { slug } : {}) },
        body: 'pdf bytes',
      });
    const first = await post('Lab Result.pdf');
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toBe(`/v1/users/${owner}/files/inbox/Lab-Result.pdf`);
    const second = await post('Lab Result.pdf');
    expect(second.status).toBe(201);
    const location = second.headers.get('location') as string;
    expect(location).toMatch(/\/inbox\/Lab-Result\.pdf-[0-9a-f]{8}$/);
    const third = await post();
    expect(third.headers.get('location')).toMatch(/\/inbox\/[0-9a-f-]{36}$/);
    const got = await fetch(`${base}${location}`);
    expect([got.status, got.headers.get('content-type'), await got.text()]).toEqual([
      200,
      'application/pdf',
      'pdf bytes',
    ]);
  });

  it('merge-patches tags and description without touching the bytes', async () => {
    const created = await put('meta.txt', 'content');
    const etag = created.headers.get('etag') as string;
    const patched = await fetch(files('meta.txt'), {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json', 'if-match': etag },
      body: JSON.stringify({ tags: ['lab', 'blood'], description: 'CBC' }),
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ tags: ['lab', 'blood'], description: 'CBC', size: 7 });
    expect(patched.headers.get('etag')).not.toBe(etag);
    const stale = await fetch(files('meta.txt'), {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json', 'if-match': etag },
      body: '{"tags":null}',
    });
    expect(stale.status).toBe(412);
    const unknown = await fetch(files('meta.txt'), {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"size":1}',
    });
    expect(unknown.status).toBe(400);
    const cleared = await fetch(files('meta.txt'), {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"tags":null}',
    });
    expect(await cleared.json()).toMatchObject({ tags: [], description: 'CBC' });
    const info = (await (await fetch(files('meta.txt?metadata'))).json()) as { description: string };
    expect(info.description).toBe('CBC');
    expect(await (await fetch(files('meta.txt'))).text()).toBe('content');
  });

  it('refuses bad paths, unknown owners and oversized bodies with problem+json, writing nothing', async () => {
    const prefix = `/v1/users/${owner}/files`;
    const bad = [
      `${prefix}/a/../b`,
      `${prefix}/a/./b`,
      `${prefix}/a//b`,
      `${prefix}/a%01b`,
      `${prefix}/${'x'.repeat(1100)}`,
      `${prefix}/${'y'.repeat(300)}/z`,
    ];
    for (const path of bad) {
      const res = await raw(base, 'PUT', path, { headers: { 'content-type': 'text/plain' }, body: 'x' });
      expect([path.slice(0, 60), res.status]).toEqual([path.slice(0, 60), 400]);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    }
    // Someone else's pod (existing or not) without a grant: refused before anything is looked up.
    expect(
      (await fetch(`${base}/v1/users/nobody/files/a.txt`, { method: 'PUT', body: 'x', as: owner })).status,
    ).toBe(403);
    const declared = await raw(base, 'PUT', `${prefix}/big.bin`, {
      headers: { 'content-length': String(MAX_FILE_BYTES + 1) },
    });
    expect(declared.status).toBe(413);
    // Chunked, with no declared length: refused once it passes the limit, and nothing is visible.
    const chunked = await fetch(files('big.bin'), {
      method: 'PUT',
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 50; i++) controller.enqueue(new Uint8Array(1024 * 1024));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await fetch(files('big.bin'))).status).toBe(404);
  });

  it('leaves nothing behind when the client drops an upload, and keeps serving', async () => {
    const url = new URL(files('dropped.bin'));
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: url.hostname,
        port: url.port,
        method: 'PUT',
        path: url.pathname,
        headers: { 'content-length': String(20 * 1024 * 1024), ...ownerToken(url.pathname) },
      });
      req.on('error', () => resolve());
      req.write(randomBytes(3 * 1024 * 1024), () =>
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 300),
      );
    });
    await waitFor(async () => (await fetch(files('dropped.bin'))).status === 404);
    expect((await put('after-drop.txt', 'still here')).status).toBe(201);
    await waitFor(async () => (await blobCount()) === (await filesWithBlobs()));
  });

  it('frees a download whose client stops reading, and keeps serving others', async () => {
    const data = randomBytes(32 * 1024 * 1024);
    expect((await put('large.bin', data)).status).toBe(201);
    const url = new URL(files('large.bin'));
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      headers: ownerToken(url.pathname),
    });
    const res = await new Promise<IncomingMessage>((resolve) => req.on('response', resolve).end());
    await new Promise<void>((resolve) => res.once('data', () => resolve()));
    res.pause(); // stop reading: credit stops, the worker stops reading the store
    await new Promise((r) => setTimeout(r, 500));
    expect(await (await fetch(files('cond.txt'))).text()).toBe('v2'); // others are served meanwhile
    req.destroy(); // the client goes away: the transfer is cancelled
    await waitFor(async () => (await workersInFlight()) === 0);
  });

  it('deletes the whole pod with the user', async () => {
    await fetch(`${base}/v1/users/short-lived`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    await fetch(`${base}/v1/users/short-lived/files/a/b.txt`, { method: 'PUT', body: 'x' });
    expect((await fetch(`${base}/v1/users/short-lived`, { method: 'DELETE' })).status).toBe(204);
    expect((await store.list('users/short-lived/')).items).toEqual([]);
  });

  async function blobCount(): Promise<number> {
    return (await store.list(`users/${owner}/blobs/`, { limit: 10_000 })).items.length;
  }

  /** Files whose bytes are a blob (the others keep them inside their document). */
  async function filesWithBlobs(): Promise<number> {
    const keys = (await store.list(`users/${owner}/files/`, { limit: 10_000 })).items.map((i) => i.key);
    const records = await Promise.all(keys.map((key) => store.get(key)));
    return records.filter((r) => r !== undefined && parseRecord(r.body).blob !== undefined).length;
  }

  async function workersInFlight(): Promise<number> {
    let total = 0;
    for (let i = 0; i < stack.workers.length; i++) {
      const text = await (
        await fetch(`http://127.0.0.1:${stack.options.workerMetricsBasePort + i}/metrics`)
      ).text();
      total += Number(/^podstore_worker_in_flight (\d+)/m.exec(text)?.[1] ?? 0);
    }
    return total;
  }
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}
