/**
 * The ObjectStore contract (test/helpers/object-store-contract.ts) run against the filesystem store
 * (temp folder) and the S3 store (a real MinIO process). Adapter-specific behaviour (unreachable
 * server, cross-process locking) is tested after the shared suite.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../deploy/local/free-port.ts';
import { type MinioServer, startMinio } from '../../deploy/local/servers.ts';
import { FsObjectStore } from '../../worker/storage/fs-store.ts';
import {
  InvalidKeyError,
  PreconditionFailedError,
  StorageUnavailableError,
} from '../../worker/storage/object-store.ts';
import { S3ObjectStore } from '../../worker/storage/s3-store.ts';
import {
  byteOrder,
  chunksOf,
  entryText,
  lazySource,
  listAll,
  listAllChildren,
  MiB,
  must,
  objectStoreContract,
  readBody,
  sha256Of,
  TEST_PART_SIZE,
  text,
} from '../helpers/object-store-contract.ts';

// ---------------------------------------------------------------- filesystem

const fsRoots: string[] = [];
async function tempRoot(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'podstore-fs-store-'));
  fsRoots.push(root);
  return root;
}
afterAll(async () => {
  await Promise.all(fsRoots.map((root) => rm(root, { recursive: true, force: true })));
});

objectStoreContract('filesystem', async () => {
  const root = await tempRoot();
  return {
    store: new FsObjectStore(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
    leftovers: () => readdir(path.join(root, '.tmp')),
  };
});

describe('FsObjectStore', () => {
  it('stores a key and keys below it side by side (which MinIO cannot list)', async () => {
    const fsStore = new FsObjectStore(await tempRoot());
    await fsStore.init();
    await fsStore.put('tree/a/b', text('child'));
    expect(await fsStore.get('tree/a')).toBeUndefined();
    await fsStore.put('tree/a', text('parent'));
    expect((await fsStore.get('tree/a'))?.body.toString()).toBe('parent');
    expect((await fsStore.get('tree/a/b'))?.body.toString()).toBe('child');
    expect((await fsStore.list('tree/')).items.map((item) => item.key)).toEqual(['tree/a', 'tree/a/b']);
    expect(await fsStore.delete('tree/a')).toBe(true);
    expect((await fsStore.get('tree/a/b'))?.body.toString()).toBe('child');
  });

  it('lets exactly one of two stores on the same folder win an ifMatch race, every time', async () => {
    const root = await tempRoot();
    const [a, b] = [new FsObjectStore(root), new FsObjectStore(root)];
    await a.init();
    for (let round = 0; round < 25; round++) {
      const { etag } = await a.put('contested', text(`base-${round}`));
      const results = await Promise.allSettled([
        a.put('contested', text(`a-${round}`), { ifMatch: etag }),
        b.put('contested', text(`b-${round}`), { ifMatch: etag }),
      ]);
      const won = results.map((result) => result.status === 'fulfilled');
      expect(won.filter(Boolean)).toHaveLength(1);
      const loser = results.find((result) => result.status === 'rejected');
      expect(loser?.status === 'rejected' && loser.reason).toBeInstanceOf(PreconditionFailedError);
      expect((await b.get('contested'))?.body.toString()).toBe(won[0] ? `a-${round}` : `b-${round}`);
    }
  });

  it('loses no update when two processes increment one counter with ifMatch', async () => {
    const root = await tempRoot();
    const store = new FsObjectStore(root);
    await store.init();
    await store.put('counter', text('0'));
    const worker = fileURLToPath(new URL('../helpers/fs-increment-worker.ts', import.meta.url));
    const run = () =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', worker, root, 'counter', '40'], {
        timeout: 60_000,
      });
    const outputs = await Promise.all([run(), run()]);
    expect((await store.get('counter'))?.body.toString()).toBe('80');
    const conflicts = outputs.map((output) => JSON.parse(output.stdout).conflicts as number);
    expect(conflicts.every((n) => Number.isInteger(n))).toBe(true);
  });

  it('breaks a lock left by a writer that died holding it', async () => {
    const root = await tempRoot();
    const store = new FsObjectStore(root);
    await store.init();
    const { etag } = await store.put('locked', text('before'));
    const lockFile = store.lockPath('locked');
    await mkdir(path.dirname(lockFile), { recursive: true });
    await writeFile(lockFile, '999999\n');
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(lockFile, longAgo, longAgo);
    const started = Date.now();
    await store.put('locked', text('after'), { ifMatch: etag });
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await store.get('locked'))?.body.toString()).toBe('after');
  });

  it('waits for a live lock instead of breaking it', async () => {
    const root = await tempRoot();
    const store = new FsObjectStore(root);
    await store.init();
    const lockFile = store.lockPath('busy');
    await mkdir(path.dirname(lockFile), { recursive: true });
    await writeFile(lockFile, `${process.pid}\n`);
    let done = false;
    const writing = store.put('busy', text('x')).then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(done).toBe(false);
    await rm(lockFile);
    await writing;
    expect((await store.get('busy'))?.body.toString()).toBe('x');
  });

  it('never lists its temp and lock areas, and stores keys that look like them', async () => {
    const root = await tempRoot();
    const store = new FsObjectStore(root);
    await store.init();
    await writeFile(path.join(root, '.tmp', 'half-written'), 'partial');
    await store.put('.tmp/real', text('a key like the temp area'));
    await store.put('.locks', text('a key like the lock area'));
    expect((await store.list('')).items.map((item) => item.key)).toEqual(['.locks', '.tmp/real']);
  });

  it('rejects a key whose escaped name is too long for the filesystem', async () => {
    const store = new FsObjectStore(await tempRoot());
    await store.init();
    // 100 bytes as a key segment, 300 bytes once each % is escaped: over the 255-byte name limit.
    await expect(store.put('%'.repeat(100), text('x'))).rejects.toBeInstanceOf(InvalidKeyError);
    expect((await store.list('')).items).toEqual([]);
  });

  it('listChildren shows no folder without keys in it, however deep', async () => {
    const root = await tempRoot();
    const store = new FsObjectStore(root);
    await store.init();
    await store.put('tree/kept/deep/x', text('x'));
    await store.put('tree/file', text('f'));
    // Left behind by a crash between a delete and the cleanup of its folders.
    await mkdir(path.join(root, 'objects', 'tree%', 'ghost%', 'deeper%'), { recursive: true });
    await mkdir(path.join(root, 'objects', 'tree%', 'empty%'), { recursive: true });
    expect((await store.listChildren('tree/')).entries.map(entryText)).toEqual(['tree/file', 'tree/kept/']);
    expect((await store.listChildren('tree/', { limit: 1 })).next).toBe('tree/file');
    expect((await store.listChildren('tree/', { startAfter: 'tree/file', limit: 1 })).next).toBeUndefined();
  });

  it('getStream keeps reading the version it opened while the key is overwritten or deleted', async () => {
    const store = new FsObjectStore(await tempRoot());
    await store.init();
    const first = randomBytes(3 * MiB);
    const { etag } = await store.put('v', first);
    const opened = must(await store.getStream('v'));
    await store.put('v', text('second'));
    expect(opened.info.etag).toBe(etag);
    expect((await readBody(opened.body)).equals(first)).toBe(true);
    const again = must(await store.getStream('v', { start: 0, end: 2 }));
    expect(await store.delete('v')).toBe(true);
    expect((await readBody(again.body)).toString()).toBe('sec');
  });

  it('fails with StorageUnavailableError when its folder is unusable', async () => {
    const root = await tempRoot();
    const file = path.join(root, 'not-a-folder');
    await writeFile(file, 'x');
    const store = new FsObjectStore(file);
    await expect(store.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.put('a', text('x'))).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.putStream('a', chunksOf(text('x'), 1))).rejects.toBeInstanceOf(
      StorageUnavailableError,
    );
    await expect(store.getStream('a')).resolves.toBeUndefined();
    await expect(store.listChildren('')).resolves.toEqual({ entries: [] });
  });
});

// ---------------------------------------------------------------- S3 (MinIO)

let minio: MinioServer | undefined;
let bucketCounter = 0;

beforeAll(async () => {
  minio = await startMinio();
});

afterAll(async () => {
  await minio?.stop();
});

function s3Store(
  bucket: string,
  overrides: {
    endpoint?: string;
    requestTimeoutMs?: number;
    streamIdleTimeoutMs?: number;
    overlappedUploads?: number;
  } = {},
): S3ObjectStore {
  if (minio === undefined) throw new Error('MinIO is not running');
  return new S3ObjectStore({
    endpoint: overrides.endpoint ?? minio.endpoint,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    bucket,
    region: 'us-east-1',
    requestTimeoutMs: overrides.requestTimeoutMs,
    streamIdleTimeoutMs: overrides.streamIdleTimeoutMs,
    overlappedUploads: overrides.overlappedUploads,
    partSize: TEST_PART_SIZE,
  });
}

/** A plain minio-js client on the test MinIO, to look behind the store's back. */
function minioClient(): Client {
  if (minio === undefined) throw new Error('MinIO is not running');
  return new Client({
    endPoint: '127.0.0.1',
    port: minio.port,
    useSSL: false,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    region: 'us-east-1',
    pathStyle: true,
  });
}

async function incompleteUploads(bucket: string): Promise<string[]> {
  const result = await minioClient().listIncompleteUploadsQuery(bucket, '', '', '', '');
  return result.uploads.map((upload) => `${upload.key} (upload ${upload.uploadId})`);
}

objectStoreContract('S3 (MinIO)', async () => {
  bucketCounter++;
  const bucket = `contract-${bucketCounter}-${randomBytes(3).toString('hex')}`;
  return { store: s3Store(bucket), cleanup: async () => {}, leftovers: () => incompleteUploads(bucket) };
});

describe('S3ObjectStore', () => {
  it('fails fast with StorageUnavailableError when nothing listens on the port', async () => {
    const port = await freePort();
    const store = s3Store('any-bucket', { endpoint: `http://127.0.0.1:${port}` });
    const started = Date.now();
    await expect(store.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.get('a/b')).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.put('a/b', text('x'))).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(Date.now() - started).toBeLessThan(3000);
    await store.close();
  });

  it('times out with StorageUnavailableError when the server accepts but never answers', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address() as net.AddressInfo;
    const store = s3Store('any-bucket', {
      endpoint: `http://127.0.0.1:${address.port}`,
      requestTimeoutMs: 500,
    });
    try {
      const started = Date.now();
      await expect(store.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('maps 5xx answers to StorageUnavailableError', async () => {
    const failing = http.createServer((request, response) => {
      request.resume();
      response.writeHead(503, { 'content-type': 'application/xml' });
      response.end('<Error><Code>ServiceUnavailable</Code><Message>down for a test</Message></Error>');
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const address = failing.address() as net.AddressInfo;
    const store = s3Store('any-bucket', { endpoint: `http://127.0.0.1:${address.port}` });
    try {
      await expect(store.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(store.get('a')).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(store.put('a', text('x'), { ifNoneMatch: '*' })).rejects.toBeInstanceOf(
        StorageUnavailableError,
      );
      await expect(store.list('')).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(store.listChildren('')).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(store.getStream('a', { start: 0, end: 1 })).rejects.toBeInstanceOf(
        StorageUnavailableError,
      );
      for (const size of [10, 6 * MiB]) {
        await expect(store.putStream('a', chunksOf(randomBytes(size), 64 * 1024))).rejects.toBeInstanceOf(
          StorageUnavailableError,
        );
      }
    } finally {
      await store.close();
      await new Promise((resolve) => failing.close(resolve));
    }
  });

  it('ping fails with StorageUnavailableError when the bucket does not exist', async () => {
    const store = s3Store(`missing-${randomBytes(3).toString('hex')}`);
    await expect(store.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
    await store.close();
  });

  it('fails with StorageUnavailableError on wrong credentials', async () => {
    if (minio === undefined) throw new Error('MinIO is not running');
    const store = new S3ObjectStore({
      endpoint: minio.endpoint,
      accessKey: 'nobody',
      secretKey: 'wrong-secret',
      bucket: 'any-bucket',
    });
    await expect(store.init()).rejects.toBeInstanceOf(StorageUnavailableError);
    await store.close();
  });

  it('lets concurrent init calls on a new bucket all succeed', async () => {
    const bucket = `init-race-${randomBytes(3).toString('hex')}`;
    const stores = Array.from({ length: 5 }, () => s3Store(bucket));
    await Promise.all(stores.map((store) => store.init()));
    await stores[0]?.ping();
    await Promise.all(stores.map((store) => store.close()));
  });

  it('accepts a quoted etag in ifMatch', async () => {
    const store = s3Store(`quoted-${randomBytes(3).toString('hex')}`);
    await store.init();
    const { etag } = await store.put('k', text('one'));
    await store.put('k', text('two'), { ifMatch: `"${etag}"` });
    expect((await store.get('k'))?.body.toString()).toBe('two');
    await store.close();
  });

  it('putStream sends up to one part as one PUT and more as a multipart upload, with the content type', async () => {
    const bucket = `multipart-${randomBytes(3).toString('hex')}`;
    const store = s3Store(bucket);
    await store.init();
    const client = minioClient();
    try {
      const exact = randomBytes(TEST_PART_SIZE);
      const single = await store.putStream('one-part', chunksOf(exact, 100_000), {
        contentType: 'text/plain',
      });
      expect(single).toEqual({ etag: createHash('md5').update(exact).digest('hex'), size: TEST_PART_SIZE });
      expect((await client.statObject(bucket, 'one-part')).metaData['content-type']).toBe('text/plain');

      const longer = Buffer.concat([exact, text('!')]);
      const two = await store.putStream('two-parts', chunksOf(longer, 3 * MiB), { contentType: 'image/png' });
      expect(two.etag).toMatch(/^[0-9a-f]{32}-2$/);
      expect(two.size).toBe(TEST_PART_SIZE + 1);
      const stat = await client.statObject(bucket, 'two-parts');
      expect(stat.metaData['content-type']).toBe('image/png');
      expect(stat.etag).toBe(two.etag);
      expect((await store.get('two-parts'))?.body.equals(longer)).toBe(true);

      const twenty = await store.putStream('twenty', lazySource(20 * MiB, 64 * 1024).chunks);
      expect(twenty.etag).toMatch(/-4$/);
      expect((await store.putStream('default-type', chunksOf(text('x'), 1))).size).toBe(1);
      expect((await client.statObject(bucket, 'default-type')).metaData['content-type']).toBe(
        'application/octet-stream',
      );
    } finally {
      await store.close();
    }
  }, 60_000);

  it('aborts the multipart upload when the source fails after some parts', async () => {
    const bucket = `abort-${randomBytes(3).toString('hex')}`;
    const store = s3Store(bucket);
    await store.init();
    try {
      let fail: (error: Error) => void = () => {};
      const failure = new Promise<never>((_, reject) => {
        fail = reject;
      });
      let reachedGate: () => void = () => {};
      const atGate = new Promise<void>((resolve) => {
        reachedGate = resolve;
      });
      const source = lazySource(30 * MiB, MiB, async (offset) => {
        if (offset === 12 * MiB) {
          reachedGate();
          await failure;
        }
      });
      const error = new Error('source broke');
      const writing = store.putStream('parts/left', source.chunks);
      const settled = writing.catch((reason: unknown) => reason);
      await atGate;
      // Two parts are stored by now, in an upload that is still open.
      expect(await incompleteUploads(bucket)).toHaveLength(1);
      fail(error);
      expect(await settled).toBe(error);
      expect(await incompleteUploads(bucket)).toEqual([]);
      expect(await store.head('parts/left')).toBeUndefined();
    } finally {
      await store.close();
    }
  }, 60_000);

  /**
   * Uploads through a proxy in front of MinIO that holds every part's answer for 300 ms, with a store of
   * `overlappedUploads`; per upload, where the source was when each part's answer came back, and the
   * most parts one upload had in flight at once. The uploads run one after the other.
   */
  async function uploadsBehindSlowParts(overlappedUploads: number, uploads: number) {
    if (minio === undefined) throw new Error('MinIO is not running');
    const target = new URL(minio.endpoint);
    let partsOpen = 0;
    let mostPartsOpen = 0;
    let sourceOffset = 0;
    let offsetAtPartAnswer: number[] = [];
    const proxy = http.createServer((request, response) => {
      const isPart = request.method === 'PUT' && request.url?.includes('partNumber=') === true;
      if (isPart) mostPartsOpen = Math.max(mostPartsOpen, ++partsOpen);
      const { hostname: host, port } = target;
      const upstream = http.request(
        { host, port, method: request.method, path: request.url, headers: request.headers },
        async (answer) => {
          if (isPart) {
            await sleep(300);
            offsetAtPartAnswer.push(sourceOffset);
            partsOpen--;
          }
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      request.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const bucket = `overlap-${randomBytes(3).toString('hex')}`;
    const direct = s3Store(bucket);
    await direct.init();
    const endpoint = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const store = s3Store(bucket, { endpoint, overlappedUploads });
    const runs: { offsets: number[]; mostPartsOpen: number }[] = [];
    try {
      for (let i = 0; i < uploads; i++) {
        offsetAtPartAnswer = [];
        mostPartsOpen = 0;
        const total = 4 * TEST_PART_SIZE + 1000;
        const source = lazySource(total, 256 * 1024, (offset) => {
          sourceOffset = offset;
        });
        const result = await store.putStream(`overlapped-${i}`, source.chunks);
        expect(result.size).toBe(total);
        expect(result.etag).toMatch(/-5$/);
        const stored = must(await direct.getStream(`overlapped-${i}`));
        expect((await sha256Of(stored.body)).hex).toBe(source.digest());
        runs.push({ offsets: offsetAtPartAnswer, mostPartsOpen });
      }
      expect(await incompleteUploads(bucket)).toEqual([]);
      return runs;
    } finally {
      await store.close();
      await direct.close();
      await new Promise((resolve) => proxy.close(resolve));
    }
  }

  it('putStream reads the next part while a part is on its way, with at most one part in flight', async () => {
    // A budget of one second buffer, taken and given back by each of two uploads in turn.
    for (const { offsets, mostPartsOpen } of await uploadsBehindSlowParts(1, 2)) {
      expect(mostPartsOpen).toBe(1);
      // When part n's answer came back, the source had handed out the first chunk of part n + 2: part
      // n + 1 was filled meanwhile, and the chunk after it waits for part n's buffer.
      expect(offsets).toHaveLength(5);
      expect(offsets.slice(0, 3)).toEqual([2, 3, 4].map((n) => n * TEST_PART_SIZE));
    }
  }, 60_000);

  it('putStream sends its parts one after the other when no second buffer is left', async () => {
    const [run] = await uploadsBehindSlowParts(0, 1);
    expect(run?.mostPartsOpen).toBe(1);
    // When part n's answer came back, the source was still at the first chunk after part n.
    expect(run?.offsets.slice(0, 4)).toEqual([1, 2, 3, 4].map((n) => n * TEST_PART_SIZE));
  }, 60_000);

  it('refuses a part size S3 would reject', () => {
    if (minio === undefined) throw new Error('MinIO is not running');
    const config = { endpoint: minio.endpoint, accessKey: 'a', secretKey: 'b', bucket: 'any-bucket' };
    expect(() => new S3ObjectStore({ ...config, partSize: 5 * MiB - 1 })).toThrow(/partSize/);
    expect(() => new S3ObjectStore({ ...config, partSize: 1.5 * MiB * 4 + 0.5 })).toThrow(/partSize/);
  });

  it('listChildren skips a common prefix that the server repeats after a marker', async () => {
    const keys = ['a', 'b/c', 'b/d/e', 'b/d/f', 'b/g', 'c', 'd/x', 'e'];
    // A ListObjects server that rolls every key after the marker up into its common prefix, even the
    // keys of a prefix given as the marker itself (S3 may answer so; MinIO skips that prefix).
    const repeating = http.createServer((request, response) => {
      request.resume();
      const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
      const prefix = query.get('prefix') ?? '';
      const delimiter = query.get('delimiter') ?? '';
      const marker = query.get('marker') ?? '';
      const maxKeys = Number(query.get('max-keys') ?? '1000');
      const entries: { text: string; isPrefix: boolean }[] = [];
      for (const key of keys.filter((k) => k.startsWith(prefix) && byteOrder(k, marker) > 0)) {
        const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
        const entry =
          cut === -1 ? { text: key, isPrefix: false } : { text: key.slice(0, cut + 1), isPrefix: true };
        if (entries.at(-1)?.text !== entry.text) entries.push(entry);
      }
      const page = entries.slice(0, maxKeys);
      const contents = page
        .filter((entry) => !entry.isPrefix)
        .map(
          (entry) =>
            `<Contents><Key>${encodeURIComponent(entry.text)}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>` +
            '<ETag>&quot;0123&quot;</ETag><Size>1</Size></Contents>',
        );
      const prefixes = page
        .filter((entry) => entry.isPrefix)
        .map(
          (entry) => `<CommonPrefixes><Prefix>${encodeURIComponent(entry.text)}</Prefix></CommonPrefixes>`,
        );
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(
        '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name>' +
          `<IsTruncated>${entries.length > maxKeys}</IsTruncated>${contents.join('')}${prefixes.join('')}</ListBucketResult>`,
      );
    });
    await new Promise<void>((resolve) => repeating.listen(0, '127.0.0.1', resolve));
    const address = repeating.address() as net.AddressInfo;
    const store = s3Store('bucket', { endpoint: `http://127.0.0.1:${address.port}` });
    try {
      for (const limit of [1, 2, 3, 1000]) {
        expect((await listAllChildren(store, '', limit)).texts).toEqual(['a', 'b/', 'c', 'd/', 'e']);
        expect((await listAllChildren(store, 'b/', limit)).texts).toEqual(['b/c', 'b/d/', 'b/g']);
        expect((await listAll(store, '', limit)).keys).toEqual(keys);
      }
      const afterB = await store.listChildren('', { startAfter: 'b/', limit: 1 });
      expect(afterB).toEqual({ entries: [expect.objectContaining({ kind: 'object' })], next: 'c' });
      expect((await store.listChildren('b/', { startAfter: 'b/d/' })).entries.map(entryText)).toEqual([
        'b/g',
      ]);
    } finally {
      await store.close();
      await new Promise((resolve) => repeating.close(resolve));
    }
  });

  it('fails a getStream body with StorageUnavailableError when the server stalls mid-body', async () => {
    const sockets = new Set<net.Socket>();
    const stalling = http.createServer((request, response) => {
      request.resume();
      response.writeHead(200, {
        'content-length': '100000',
        etag: '"0123456789abcdef0123456789abcdef"',
        'last-modified': new Date().toUTCString(),
      });
      response.write('x'.repeat(10)); // and nothing more
    });
    stalling.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    const address = stalling.address() as net.AddressInfo;
    const store = s3Store('any-bucket', {
      endpoint: `http://127.0.0.1:${address.port}`,
      streamIdleTimeoutMs: 300,
    });
    try {
      const opened = must(await store.getStream('a'));
      expect(opened.info).toMatchObject({ key: 'a', etag: '0123456789abcdef0123456789abcdef', size: 100000 });
      const started = Date.now();
      await expect(readBody(opened.body)).rejects.toBeInstanceOf(StorageUnavailableError);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => stalling.close(resolve));
    }
  });

  it('fails a getStream body with StorageUnavailableError when its consumer pauses too long', async () => {
    const bucket = `paused-${randomBytes(3).toString('hex')}`;
    const store = s3Store(bucket, { streamIdleTimeoutMs: 400 });
    await store.init();
    try {
      await store.putStream('big', lazySource(32 * MiB, MiB).chunks);
      // A short pause is fine.
      const patient = must(await store.getStream('big'));
      const patientReader = patient.body[Symbol.asyncIterator]();
      await patientReader.next();
      await sleep(150);
      let size = 0;
      for (let next = await patientReader.next(); !next.done; next = await patientReader.next()) {
        size += next.value.length;
      }
      expect(size).toBeGreaterThan(31 * MiB);

      // A pause past the idle timeout (the socket buffers fill up, then nothing moves) fails the body.
      const paused = must(await store.getStream('big'));
      const reader = paused.body[Symbol.asyncIterator]();
      await reader.next();
      await sleep(2000);
      const rest = (async () => {
        for (let next = await reader.next(); !next.done; next = await reader.next()) {}
      })();
      await expect(rest).rejects.toBeInstanceOf(StorageUnavailableError);
      // The store is still usable.
      expect((await store.head('big'))?.size).toBe(32 * MiB);

      // The body's idle timeout replaces the request timeout: a pause longer than the latter is fine.
      const reader2 = s3Store(bucket, { requestTimeoutMs: 1000, streamIdleTimeoutMs: 10_000 });
      try {
        const slow = must(await reader2.getStream('big'));
        const slowReader = slow.body[Symbol.asyncIterator]();
        let total = (await slowReader.next()).value?.length ?? 0;
        await sleep(2000);
        for (let next = await slowReader.next(); !next.done; next = await slowReader.next()) {
          total += next.value.length;
        }
        expect(total).toBe(32 * MiB);
      } finally {
        await reader2.close();
      }
    } finally {
      await store.close();
    }
  }, 60_000);
});
