/**
 * One contract for every ObjectStore adapter, run against the filesystem store (temp folder) and the
 * S3 store (a real MinIO process). Adapter-specific behaviour (unreachable server, cross-process
 * locking) is tested after the shared suite.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../worker/storage/fs-store.ts';
import {
  InvalidKeyError,
  type ObjectInfo,
  type ObjectStore,
  PreconditionFailedError,
  StorageUnavailableError,
} from '../../worker/storage/object-store.ts';
import { S3ObjectStore } from '../../worker/storage/s3-store.ts';
import { freePort } from '../helpers/free-port.ts';
import { type MinioServer, startMinio } from '../helpers/servers.ts';

type StoreFactory = () => Promise<{ store: ObjectStore; cleanup: () => Promise<void> }>;

const text = (value: string) => Buffer.from(value);
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function listAll(store: ObjectStore, prefix: string, limit: number) {
  const pages: ObjectInfo[][] = [];
  let startAfter: string | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const page = await store.list(prefix, { startAfter, limit });
    pages.push(page.items);
    if (page.next === undefined) break;
    expect(page.next).toBe(page.items.at(-1)?.key);
    startAfter = page.next;
  }
  return { pages, keys: pages.flat().map((item) => item.key) };
}

function objectStoreContract(name: string, factory: StoreFactory): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await factory());
      await store.init();
    });

    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    it('init is idempotent and ping succeeds', async () => {
      await store.init();
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('round-trips a body with its etag, size and modification time', async () => {
      const before = Date.now();
      const { etag } = await store.put('docs/hello.txt', text('hello'), { contentType: 'text/plain' });
      expect(etag).toMatch(/^[^"]+$/);
      const object = await store.get('docs/hello.txt');
      expect(object?.body.toString()).toBe('hello');
      expect(object).toMatchObject({ key: 'docs/hello.txt', etag, size: 5 });
      expect(object?.lastModified).toBeInstanceOf(Date);
      // S3 keeps second precision; allow for that and some clock slack.
      expect(object?.lastModified.getTime()).toBeGreaterThanOrEqual(before - 2000);
      expect(object?.lastModified.getTime()).toBeLessThanOrEqual(Date.now() + 2000);
    });

    it('head describes the object without a body', async () => {
      const { etag } = await store.put('docs/a.bin', Buffer.alloc(1234, 7));
      const info = await store.head('docs/a.bin');
      expect(info).toMatchObject({ key: 'docs/a.bin', etag, size: 1234 });
      expect(info).not.toHaveProperty('body');
    });

    it('answers undefined for a missing key', async () => {
      expect(await store.get('nothing/here')).toBeUndefined();
      expect(await store.head('nothing/here')).toBeUndefined();
    });

    it('changes the etag when an object is overwritten', async () => {
      const first = await store.put('k', text('one'));
      const second = await store.put('k', text('two'));
      expect(second.etag).not.toBe(first.etag);
      const object = await store.get('k');
      expect(object?.body.toString()).toBe('two');
      expect(object?.etag).toBe(second.etag);
    });

    it('ifNoneMatch * creates a missing key and refuses an existing one', async () => {
      const { etag } = await store.put('once', text('first'), { ifNoneMatch: '*' });
      await expect(store.put('once', text('second'), { ifNoneMatch: '*' })).rejects.toBeInstanceOf(
        PreconditionFailedError,
      );
      const object = await store.get('once');
      expect(object?.body.toString()).toBe('first');
      expect(object?.etag).toBe(etag);
    });

    it('ifMatch writes only over the version it names', async () => {
      const v1 = await store.put('doc', text('v1'));
      const v2 = await store.put('doc', text('v2'), { ifMatch: v1.etag });
      expect((await store.get('doc'))?.body.toString()).toBe('v2');
      await expect(store.put('doc', text('stale'), { ifMatch: v1.etag })).rejects.toBeInstanceOf(
        PreconditionFailedError,
      );
      expect((await store.get('doc'))?.etag).toBe(v2.etag);
      await store.put('doc', text('v3'), { ifMatch: v2.etag });
      expect((await store.get('doc'))?.body.toString()).toBe('v3');
    });

    it('ifMatch on a missing key fails', async () => {
      await expect(store.put('ghost', text('x'), { ifMatch: 'abc' })).rejects.toBeInstanceOf(
        PreconditionFailedError,
      );
      expect(await store.get('ghost')).toBeUndefined();
    });

    it('lets exactly one of 20 concurrent ifNoneMatch * writers win', async () => {
      const bodies = Array.from({ length: 20 }, (_, i) => text(`writer-${i}-${'x'.repeat(i * 100)}`));
      const results = await Promise.allSettled(
        bodies.map((body) => store.put('race/one', body, { ifNoneMatch: '*' })),
      );
      const winners = results.flatMap((result, i) =>
        result.status === 'fulfilled' ? [{ i, ...result.value }] : [],
      );
      expect(winners).toHaveLength(1);
      for (const result of results) {
        if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(PreconditionFailedError);
      }
      const [winner] = winners;
      const stored = await store.get('race/one');
      expect(stored?.body.equals(bodies[winner?.i ?? -1] ?? Buffer.alloc(0))).toBe(true);
      expect(stored?.etag).toBe(winner?.etag);
    });

    it('delete answers whether the key existed', async () => {
      await store.put('gone/soon', text('x'));
      expect(await store.delete('gone/soon')).toBe(true);
      expect(await store.get('gone/soon')).toBeUndefined();
      expect(await store.delete('gone/soon')).toBe(false);
      expect(await store.delete('never/was')).toBe(false);
    });

    it('lists in byte order, page by page, without gaps or duplicates', async () => {
      const names = [
        'a-c',
        'a.b',
        'a/b',
        'a/c/d',
        'a0',
        'Z',
        'b',
        'é',
        '\u{e000}',
        '😀',
        '100%',
        '%25',
        'sp ace',
        ...Array.from({ length: 12 }, (_, i) => `n/${String(i).padStart(2, '0')}`),
      ];
      expect(names).toHaveLength(25);
      // Written in random order so the store cannot rely on insertion order.
      const shuffled = [...names].sort(() => Math.random() - 0.5);
      await Promise.all(shuffled.map((name) => store.put(`p/${name}`, text(name))));
      await store.put('other/x', text('outside the prefix'));
      const expected = names.map((name) => `p/${name}`).sort(byteOrder);

      const { pages, keys } = await listAll(store, 'p/', 10);
      expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
      expect(keys).toEqual(expected);

      // A last page that is exactly full says so: no `next`, no empty extra page.
      const exact = await listAll(store, 'p/n/', 6);
      expect(exact.pages.map((page) => page.length)).toEqual([6, 6]);
      expect(exact.keys).toEqual(expected.filter((key) => key.startsWith('p/n/')));

      const single = await store.list('p/');
      expect(single.items.map((item) => item.key)).toEqual(expected);
      expect(single.next).toBeUndefined();
      expect(single.items.find((item) => item.key === 'p/a/b')).toMatchObject({ size: 3 });

      // startAfter need not be an existing key.
      const after = await store.list('p/', { startAfter: 'p/a/' });
      expect(after.items.map((item) => item.key)).toEqual(
        expected.filter((key) => byteOrder(key, 'p/a/') > 0),
      );
    });

    it('treats the prefix as a plain string prefix', async () => {
      for (const key of ['q/b/1', 'q/b/2', 'q/b-1', 'q/bc', 'q/bc1/x', 'q/a/b/1', 'qq'])
        await store.put(key, text(key));
      const keysOf = async (prefix: string) => (await store.list(prefix)).items.map((item) => item.key);
      expect(await keysOf('q/b/')).toEqual(['q/b/1', 'q/b/2']);
      expect(await keysOf('q/b')).toEqual(['q/b-1', 'q/b/1', 'q/b/2', 'q/bc', 'q/bc1/x']);
      expect(await keysOf('q/bc')).toEqual(['q/bc', 'q/bc1/x']);
      expect(await keysOf('q')).toEqual(['q/a/b/1', 'q/b-1', 'q/b/1', 'q/b/2', 'q/bc', 'q/bc1/x', 'qq']);
      expect(await keysOf('q/a/')).toEqual(['q/a/b/1']);
      expect(await keysOf('q/zz/')).toEqual([]);
      expect(await keysOf('../')).toEqual([]);
      expect((await keysOf('')).length).toBe(7);
    });

    it('deletePrefix removes every key under the prefix and nothing else', async () => {
      for (const key of ['d/1', 'd/2', 'd/sub/3', 'dx/4', 'd-5']) await store.put(key, text(key));
      expect(await store.deletePrefix('d/')).toBe(3);
      expect((await store.list('d/')).items).toEqual([]);
      expect((await store.list('d')).items.map((item) => item.key)).toEqual(['d-5', 'dx/4']);
      expect(await store.deletePrefix('d/')).toBe(0);
    });

    it('deletePrefix handles more keys than one page', async () => {
      const keys = Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((key) => store.put(key, Buffer.alloc(0))));
      }
      expect(await store.deletePrefix('many/')).toBe(1100);
      expect((await store.list('many/')).items).toEqual([]);
    });

    it('rejects malformed keys with InvalidKeyError', async () => {
      const bad = [
        '',
        '/a',
        'a/',
        'a//b',
        '.',
        '..',
        'a/./b',
        'a/../b',
        '../escape',
        'line\nbreak',
        'nul\u0000',
        'del\u007f',
        `long/${'s'.repeat(300)}`,
        'k/'.repeat(600),
      ];
      for (const key of bad) {
        await expect(store.put(key, text('x')), JSON.stringify(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.head(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.delete(key)).rejects.toBeInstanceOf(InvalidKeyError);
      }
      expect((await store.list('')).items).toEqual([]);
    });

    it('round-trips every byte value, an empty body and a 2 MiB body', async () => {
      const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await store.put('bin/all', allBytes);
      expect((await store.get('bin/all'))?.body.equals(allBytes)).toBe(true);

      await store.put('bin/empty', Buffer.alloc(0));
      const empty = await store.get('bin/empty');
      expect(empty?.body.length).toBe(0);
      expect(empty?.size).toBe(0);
      expect((await store.head('bin/empty'))?.size).toBe(0);

      const big = randomBytes(2 * 1024 * 1024);
      await store.put('bin/big', big);
      expect((await store.get('bin/big'))?.body.equals(big)).toBe(true);
    });

    it('accepts keys with spaces, unicode and URL-special characters', async () => {
      const keys = ['sp ace/f i.txt', 'ünï/çødé', 'q?x=1&y=2#h', 'plus+%20/semi;colon'];
      for (const key of keys) await store.put(key, text(key));
      for (const key of keys) expect((await store.get(key))?.body.toString()).toBe(key);
      expect((await store.list('')).items.map((item) => item.key)).toEqual([...keys].sort(byteOrder));
    });
  });
}

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
  return { store: new FsObjectStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
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

  it('fails with StorageUnavailableError when its folder is unusable', async () => {
    const root = await tempRoot();
    const file = path.join(root, 'not-a-folder');
    await writeFile(file, 'x');
    const store = new FsObjectStore(file);
    await expect(store.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.put('a', text('x'))).rejects.toBeInstanceOf(StorageUnavailableError);
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
  overrides: { endpoint?: string; requestTimeoutMs?: number } = {},
): S3ObjectStore {
  if (minio === undefined) throw new Error('MinIO is not running');
  return new S3ObjectStore({
    endpoint: overrides.endpoint ?? minio.endpoint,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
    bucket,
    region: 'us-east-1',
    requestTimeoutMs: overrides.requestTimeoutMs,
  });
}

objectStoreContract('S3 (MinIO)', async () => {
  bucketCounter++;
  return {
    store: s3Store(`contract-${bucketCounter}-${randomBytes(3).toString('hex')}`),
    cleanup: async () => {},
  };
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
});
