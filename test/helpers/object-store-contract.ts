/**
 * The contract every ObjectStore adapter passes: `objectStoreContract(name, factory)` registers the
 * shared suite for one adapter. Run against the filesystem and S3 stores in
 * test/integration/storage-contract.test.ts, and against the in-memory store in
 * test/unit/memory-store.test.ts. The small helpers below are shared with adapter-specific tests.
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ChildEntry,
  type ChildPage,
  InvalidKeyError,
  type ObjectInfo,
  type ObjectStore,
  PreconditionFailedError,
} from '../../worker/storage/object-store.ts';

export type StoreFactory = () => Promise<{
  store: ObjectStore;
  cleanup: () => Promise<void>;
  /** What a failed putStream could leave behind: temp files, incomplete multipart uploads. */
  leftovers: () => Promise<string[]>;
}>;

export const MiB = 1024 * 1024;
/** The S3 store's part size in these tests: the smallest S3 allows, so that multipart runs often. */
export const TEST_PART_SIZE = 5 * MiB;

export const text = (value: string) => Buffer.from(value);
export const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export async function listAll(store: ObjectStore, prefix: string, limit: number) {
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

export async function listAllChildren(store: ObjectStore, prefix: string, limit: number) {
  const pages: ChildEntry[][] = [];
  let startAfter: string | undefined;
  for (let guard = 0; guard < 100; guard++) {
    const page: ChildPage = await store.listChildren(prefix, { startAfter, limit });
    expect(page.entries.length).toBeLessThanOrEqual(limit);
    pages.push(page.entries);
    if (page.next === undefined) break;
    expect(page.next).toBe(entryText(page.entries.at(-1)));
    startAfter = page.next;
  }
  return { pages, texts: pages.flat().map(entryText) };
}

export function entryText(entry: ChildEntry | undefined): string | undefined {
  if (entry === undefined) return undefined;
  return entry.kind === 'object' ? entry.info.key : entry.prefix;
}

/** `data` as a source of `chunkSize` chunks. */
export async function* chunksOf(data: Buffer, chunkSize: number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; offset += chunkSize) {
    yield data.subarray(offset, offset + chunkSize);
  }
}

/**
 * `total` random bytes in `chunkSize` chunks, each made only when asked for (nothing is kept);
 * `digest()` gives their sha256 once all were read. `onChunk` runs before each chunk is handed out.
 */
export function lazySource(
  total: number,
  chunkSize: number,
  onChunk?: (offset: number) => Promise<void> | void,
) {
  const hash = createHash('sha256');
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let offset = 0; offset < total; offset += chunkSize) {
      await onChunk?.(offset);
      const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(chunkSize, total - offset)));
      hash.update(chunk);
      yield chunk;
    }
  }
  return { chunks: chunks(), digest: () => hash.digest('hex') };
}

/** A source that yields `before` bytes, then throws `error`. */
export async function* failingSource(before: number, error: Error): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < before; sent += 64 * 1024) yield randomBytes(Math.min(64 * 1024, before - sent));
  throw error;
}

export async function readBody(body: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export async function sha256Of(
  body: NodeJS.ReadableStream,
  onChunk?: () => void,
): Promise<{ hex: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
    onChunk?.();
  }
  return { hex: hash.digest('hex'), size };
}

export interface ContractOptions {
  /**
   * The adapter keeps the bytes it stores in this process's memory (the in-memory store): the
   * bounded-memory test then allows for the stored object itself, and still refuses any extra copy.
   */
  keepsBodiesInMemory?: boolean;
}

export function objectStoreContract(
  name: string,
  factory: StoreFactory,
  options: ContractOptions = {},
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let cleanup: () => Promise<void>;
    let leftovers: () => Promise<string[]>;

    beforeEach(async () => {
      ({ store, cleanup, leftovers } = await factory());
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

    it('discard removes a key if it is there, and is quiet if not', async () => {
      await store.put('discard/me', text('x'));
      await store.discard('discard/me');
      expect(await store.get('discard/me')).toBeUndefined();
      await store.discard('discard/me');
      await store.discard('never/was');
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

    it('deleteMany removes the keys given, missing ones too, and nothing else', async () => {
      for (const key of ['m/1', 'm/2', 'm/sub/3', 'm/4']) await store.put(key, text(key));
      await store.deleteMany(['m/1', 'm/sub/3', 'm/never-there']);
      expect((await store.list('m/')).items.map((item) => item.key)).toEqual(['m/2', 'm/4']);
      await store.deleteMany([]);
      expect((await store.list('m/')).items).toHaveLength(2);
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
      const keys = ['sp ace/f i.txt', 'ünï/çødé', 'q?x=1&y=2#h', 'plus+%20/semi;colon', "b!ng/'q'(p)*~=,@$"];
      for (const key of keys) await store.put(key, text(key));
      for (const key of keys) expect((await store.get(key))?.body.toString()).toBe(key);
      for (const key of keys) expect((await store.head(key))?.size).toBe(Buffer.byteLength(key));
      expect((await store.list('')).items.map((item) => item.key)).toEqual([...keys].sort(byteOrder));
      for (const key of keys) expect(await store.delete(key)).toBe(true);
      expect((await store.list('')).items).toEqual([]);
    });

    it('lists root keys that look like numbers as they are', async () => {
      const keys = ['007', '0x1F', '1.50', '12', 'true', '1e3'];
      for (const key of keys) await store.put(key, text(key));
      const sorted = [...keys].sort(byteOrder);
      expect((await store.list('')).items.map((item) => item.key)).toEqual(sorted);
      expect((await listAll(store, '', 4)).keys).toEqual(sorted);
      expect((await store.listChildren('')).entries.map(entryText)).toEqual(sorted);
    });

    // ------------------------------------------------------------ putStream / getStream

    it('putStream stores an empty source', async () => {
      const result = await store.putStream('stream/empty', chunksOf(Buffer.alloc(0), 1));
      expect(result.size).toBe(0);
      expect(result.etag).toMatch(/^[^"]+$/);
      expect(await store.head('stream/empty')).toMatchObject({ etag: result.etag, size: 0 });
      const opened = await store.getStream('stream/empty');
      expect(opened?.info).toMatchObject({ key: 'stream/empty', etag: result.etag, size: 0 });
      expect((await readBody(must(opened).body)).length).toBe(0);
    });

    it('putStream joins a few small chunks, empty ones included', async () => {
      async function* parts() {
        yield text('ab');
        yield Buffer.alloc(0);
        yield text('cde');
        yield text('f');
      }
      const result = await store.putStream('stream/small', parts(), { contentType: 'text/plain' });
      expect(result.size).toBe(6);
      const object = await store.get('stream/small');
      expect(object?.body.toString()).toBe('abcdef');
      expect(object?.etag).toBe(result.etag);
    });

    it('putStream round-trips 20 MiB in 64 KiB chunks, read back whole and by ranges', async () => {
      const source = lazySource(20 * MiB, 64 * 1024);
      const result = await store.putStream('stream/big', source.chunks);
      expect(result.size).toBe(20 * MiB);
      const expected = source.digest();
      expect(await store.head('stream/big')).toMatchObject({ etag: result.etag, size: 20 * MiB });

      const whole = await store.getStream('stream/big');
      expect(whole?.info).toMatchObject({ key: 'stream/big', etag: result.etag, size: 20 * MiB });
      expect(await sha256Of(must(whole).body)).toEqual({ hex: expected, size: 20 * MiB });

      // Across the boundary of the first two parts (at the S3 test part size) and the last bytes.
      const [a, b] = [TEST_PART_SIZE - 10, TEST_PART_SIZE + 9];
      const middle = await store.getStream('stream/big', { start: a, end: b });
      expect(middle?.info).toMatchObject({ etag: result.etag, size: 20 * MiB });
      const middleBytes = await readBody(must(middle).body);
      const tail = await readBody(
        must(await store.getStream('stream/big', { start: 20 * MiB - 3, end: 20 * MiB - 1 })).body,
      );
      expect(middleBytes.length).toBe(20);
      expect(tail.length).toBe(3);
      const full = await store.get('stream/big');
      expect(middleBytes.equals(full?.body.subarray(a, b + 1) ?? Buffer.alloc(0))).toBe(true);
      expect(tail.equals(full?.body.subarray(20 * MiB - 3) ?? Buffer.alloc(0))).toBe(true);
    }, 60_000);

    for (const failAfter of [0, 100 * 1024, 12 * MiB]) {
      it(`putStream whose source fails after ${failAfter} bytes rejects with that error and leaves nothing`, async () => {
        await store.put('stream/other', text('untouched'));
        // An error with an errno-like code must still reach the caller as it is.
        const error = Object.assign(new Error('client went away'), { code: 'ECONNRESET' });
        await expect(store.putStream('stream/failed', failingSource(failAfter, error))).rejects.toBe(error);
        expect(await store.head('stream/failed')).toBeUndefined();
        expect(await store.getStream('stream/failed')).toBeUndefined();
        expect((await store.list('')).items.map((item) => item.key)).toEqual(['stream/other']);
        expect(await leftovers()).toEqual([]);
      }, 60_000);
    }

    it('putStream replaces an existing key atomically', async () => {
      const old = await store.put('stream/doc', text('old version'));
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let reachedGate: () => void = () => {};
      const atGate = new Promise<void>((resolve) => {
        reachedGate = resolve;
      });
      const source = lazySource(12 * MiB, 256 * 1024, async (offset) => {
        if (offset === 8 * MiB) {
          reachedGate();
          await gate;
        }
      });
      const writing = store.putStream('stream/doc', source.chunks);
      await atGate;
      // Mid-write (for S3, a part is already uploaded): readers still see the old version, whole.
      const during = await store.get('stream/doc');
      expect(during?.body.toString()).toBe('old version');
      expect(during?.etag).toBe(old.etag);
      release();
      const result = await writing;
      expect(result.etag).not.toBe(old.etag);
      const after = await store.getStream('stream/doc');
      expect(after?.info).toMatchObject({ etag: result.etag, size: 12 * MiB });
      expect((await sha256Of(must(after).body)).hex).toBe(source.digest());

      // And back to something small, over the big object.
      const small = await store.putStream('stream/doc', chunksOf(text('tiny'), 2));
      expect((await store.get('stream/doc'))?.body.toString()).toBe('tiny');
      expect((await store.head('stream/doc'))?.etag).toBe(small.etag);
      expect(await leftovers()).toEqual([]);
    }, 60_000);

    it('getStream returns exactly the bytes of a range, with the info of the whole object', async () => {
      const data = randomBytes(1000);
      const { etag } = await store.put('range/obj', data);
      const cases: [number, number][] = [
        [0, 0],
        [10, 19],
        [999, 999],
        [0, 999],
        [500, 5000], // past the end: what exists
      ];
      for (const [start, end] of cases) {
        const opened = await store.getStream('range/obj', { start, end });
        expect(opened?.info, `${start}-${end}`).toMatchObject({ key: 'range/obj', etag, size: 1000 });
        const bytes = await readBody(must(opened).body);
        expect(bytes.equals(data.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
      }
      const whole = await store.getStream('range/obj');
      expect((await readBody(must(whole).body)).equals(data)).toBe(true);

      // A range starting at or past the end has no bytes (the caller validates ranges; no crash).
      const beyond = await store.getStream('range/obj', { start: 1000, end: 1010 });
      expect(beyond?.info).toMatchObject({ etag, size: 1000 });
      expect((await readBody(must(beyond).body)).length).toBe(0);
      await store.put('range/empty', Buffer.alloc(0));
      const empty = await store.getStream('range/empty', { start: 0, end: 0 });
      expect(empty?.info.size).toBe(0);
      expect((await readBody(must(empty).body)).length).toBe(0);

      await expect(store.getStream('range/obj', { start: 5, end: 4 })).rejects.toBeInstanceOf(RangeError);
      await expect(store.getStream('range/obj', { start: -1, end: 4 })).rejects.toBeInstanceOf(RangeError);
      expect(await store.getStream('range/missing', { start: 0, end: 0 })).toBeUndefined();
    });

    it('getStream answers undefined for a missing key, and rejects malformed keys', async () => {
      expect(await store.getStream('nothing/here')).toBeUndefined();
      for (const key of ['', '/a', 'a//b', '../x']) {
        await expect(store.getStream(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.putStream(key, chunksOf(text('x'), 1))).rejects.toBeInstanceOf(InvalidKeyError);
      }
    });

    it('a getStream body can be abandoned half-read', async () => {
      await store.put('abandon/big', randomBytes(4 * MiB));
      for (let i = 0; i < 5; i++) {
        const opened = await store.getStream('abandon/big');
        const iterator = must(opened).body[Symbol.asyncIterator]();
        await iterator.next();
        await iterator.return?.();
      }
      // Unread and destroyed at once.
      const unread = await store.getStream('abandon/big');
      (unread?.body as { destroy?: () => void } | undefined)?.destroy?.();
      expect((await store.get('abandon/big'))?.size).toBe(4 * MiB);
    });

    // ------------------------------------------------------------ listChildren

    it('listChildren gives objects and deeper prefixes, one level at a time', async () => {
      const etags = new Map<string, string>();
      for (const key of ['a', 'b/c', 'b/d/e', 'b/d/f', 'c']) {
        etags.set(key, (await store.put(key, text(`body of ${key}`))).etag);
      }
      const root = await store.listChildren('');
      expect(root.next).toBeUndefined();
      expect(root.entries).toEqual([
        { kind: 'object', info: expect.objectContaining({ key: 'a', etag: etags.get('a'), size: 9 }) },
        { kind: 'prefix', prefix: 'b/' },
        { kind: 'object', info: expect.objectContaining({ key: 'c', etag: etags.get('c'), size: 9 }) },
      ]);
      const first = root.entries[0];
      expect(first?.kind === 'object' && first.info.lastModified).toBeInstanceOf(Date);
      expect((await store.listChildren('b/')).entries.map(entryText)).toEqual(['b/c', 'b/d/']);
      expect((await store.listChildren('b/d/')).entries.map(entryText)).toEqual(['b/d/e', 'b/d/f']);

      for (const limit of [1, 2]) {
        const all = await listAllChildren(store, '', limit);
        expect(all.texts).toEqual(['a', 'b/', 'c']);
        expect(all.pages.map((page) => page.length)).toEqual(limit === 1 ? [1, 1, 1] : [2, 1]);
        expect((await listAllChildren(store, 'b/', limit)).texts).toEqual(['b/c', 'b/d/']);
      }
      // After a prefix, nothing under it comes back.
      expect((await store.listChildren('', { startAfter: 'b/' })).entries.map(entryText)).toEqual(['c']);
      expect((await store.listChildren('b/', { startAfter: 'b/d/' })).entries).toEqual([]);
      expect((await store.listChildren('b/', { startAfter: 'b/d/e' })).entries).toEqual([]);
      expect((await store.listChildren('', { startAfter: 'a', limit: 1 })).entries.map(entryText)).toEqual([
        'b/',
      ]);

      expect(await store.listChildren('zz/')).toEqual({ entries: [] });
      expect(await store.listChildren('b/zz/')).toEqual({ entries: [] });
      expect(await store.listChildren('../')).toEqual({ entries: [] });

      // A folder whose keys are all gone is no longer listed.
      await store.delete('b/d/e');
      await store.delete('b/d/f');
      expect((await store.listChildren('b/')).entries.map(entryText)).toEqual(['b/c']);
    });

    it('listChildren orders objects and prefixes together by bytes and pages through them', async () => {
      const names = ['a-c', 'a.b', 'a/x', 'a/y/z', 'a0', 'é', '\u{e000}', '😀/in', '100%', 'sp ace/q', 'n/1'];
      for (let i = 0; i < 30; i++) names.push(`n/${String(i).padStart(2, '0')}/f`);
      await Promise.all(
        [...names].sort(() => Math.random() - 0.5).map((name) => store.put(`t/${name}`, text(name))),
      );
      const texts = [
        ...new Set(names.map((name) => `t/${name.includes('/') ? `${name.split('/')[0]}/` : name}`)),
      ];
      texts.sort(byteOrder);
      expect(texts.slice(0, 4)).toEqual(['t/100%', 't/a-c', 't/a.b', 't/a/']);
      for (const limit of [1, 3, 1000]) {
        expect((await listAllChildren(store, 't/', limit)).texts).toEqual(texts);
      }
      const inN = await listAllChildren(store, 't/n/', 7);
      expect(inN.texts).toEqual(
        [
          't/n/00/',
          ...Array.from({ length: 29 }, (_, i) => `t/n/${String(i + 1).padStart(2, '0')}/`),
          't/n/1',
        ].sort(byteOrder),
      );
      expect(inN.pages.map((page) => page.length)).toEqual([7, 7, 7, 7, 3]);
    });

    // ------------------------------------------------------------ memory

    it('streams 64 MiB in and out with bounded memory', async () => {
      // Warm-up: the allocator and the connection pool reach their steady state.
      await store.putStream('mem/warm', lazySource(16 * MiB, 64 * 1024).chunks);
      await sha256Of(must(await store.getStream('mem/warm')).body);
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sample = () => {
        peak = Math.max(peak, process.memoryUsage().rss);
      };
      const source = lazySource(64 * MiB, 64 * 1024, sample);
      const result = await store.putStream('mem/big', source.chunks);
      expect(result.size).toBe(64 * MiB);
      const opened = await store.getStream('mem/big');
      expect(await sha256Of(must(opened).body, sample)).toEqual({ hex: source.digest(), size: 64 * MiB });
      sample();
      const stored = options.keepsBodiesInMemory ? 64 * MiB : 0;
      expect(peak - baseline, `rss grew by ${((peak - baseline) / MiB).toFixed(1)} MiB`).toBeLessThan(
        stored + 40 * MiB,
      );
    }, 120_000);
  });
}

export function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('expected a value, got undefined');
  return value;
}
