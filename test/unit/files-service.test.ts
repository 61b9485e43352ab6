/**
 * The files service on the in-memory store, as the worker wires it: writes (inline and blob), reads
 * with ranges and conditions, folder listings with cursors, deletes, the file/folder rule, access.
 */
import { createHash, randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/outcome.ts';
import type { Conditions } from '../../worker/files/files-service.ts';
import { StorageUnavailableError } from '../../worker/storage/object-store.ts';
import { failsWith } from '../helpers/command-errors.ts';
import { type MemoryWorker, memoryWorker } from '../helpers/memory-worker.ts';
import { readBody } from '../helpers/object-store-contract.ts';

let w: MemoryWorker;

beforeEach(async () => {
  w = memoryWorker();
  await w.signUp('alice');
  await w.signUp('bob');
});

async function* chunked(bytes: Buffer, size = 1000): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function write(
  path: string,
  bytes: Buffer | string,
  options: { conditions?: Conditions; author?: string; owner?: string; contentType?: string } = {},
) {
  const plan = await w.files.planWrite({
    owner: options.owner ?? 'alice',
    path,
    contentType: options.contentType ?? 'text/plain',
    author: options.author ?? options.owner ?? 'alice',
    conditions: options.conditions ?? {},
  });
  return w.files.commitWrite(plan, chunked(Buffer.from(bytes)));
}

async function read(path: string, options: { range?: string; conditions?: Conditions; actor?: string } = {}) {
  const result = await w.files.openRead(options.actor ?? 'alice', 'alice', path, options);
  return { ...result, bytes: 'body' in result ? await readBody(result.body) : undefined };
}

const blobKeys = async (owner = 'alice') =>
  (await w.store.list(`users/${owner}/blobs/`)).items.map((i) => i.key);

describe('FilesService: writing', () => {
  it('creates, then replaces, with a new etag and revision, and publishes what happened', async () => {
    const first = await write('notes/a.txt', 'hello', { contentType: 'text/markdown' });
    expect(first.created).toBe(true);
    expect(first.info).toMatchObject({
      path: 'notes/a.txt',
      size: 5,
      contentType: 'text/markdown',
      sha256: createHash('sha256').update('hello').digest('hex'),
      author: 'alice',
      revision: 1,
    });
    const second = await write('notes/a.txt', 'hello again');
    expect(second.created).toBe(false);
    expect(second.info.revision).toBe(2);
    expect(second.info.etag).not.toBe(first.info.etag);
    expect(second.info.createdAt).toBe(first.info.createdAt);
    expect((await read('notes/a.txt')).bytes?.toString()).toBe('hello again');
    expect(w.events.filter((e) => e.kind.startsWith('file.')).map((e) => [e.kind, e.path])).toEqual([
      ['file.created', 'notes/a.txt'],
      ['file.updated', 'notes/a.txt'],
    ]);
  });

  it('keeps a small file inside its record and a large one in a blob, and drops replaced blobs', async () => {
    await write('small.bin', randomBytes(16 * 1024));
    expect(await blobKeys()).toEqual([]);
    const big = randomBytes(16 * 1024 + 1);
    await write('big.bin', big);
    const [blob] = await blobKeys();
    expect(blob).toBeDefined();
    expect((await read('big.bin')).bytes?.equals(big)).toBe(true);
    // Replaced by a small file: the blob nobody names any more goes.
    await write('big.bin', 'tiny now');
    await expect.poll(blobKeys).toEqual([]);
    expect((await read('big.bin')).bytes?.toString()).toBe('tiny now');
  });

  it('stores every file in a blob when inline files are off', async () => {
    w = memoryWorker({ files: { inlineMaxBytes: 0 } });
    await w.signUp('alice');
    await write('one.txt', 'x');
    expect(await blobKeys()).toHaveLength(1);
    expect((await read('one.txt')).bytes?.toString()).toBe('x');
    await write('empty.txt', '');
    expect((await read('empty.txt')).bytes?.length).toBe(0);
  });

  it('honours If-Match and If-None-Match on writes', async () => {
    const { info } = await write('doc.txt', 'v1');
    await failsWith(
      write('doc.txt', 'v2', { conditions: { ifNoneMatch: '*' } }),
      ErrorCode.PRECONDITION_FAILED,
    );
    await failsWith(
      write('doc.txt', 'v2', { conditions: { ifMatch: '"stale.1"' } }),
      ErrorCode.PRECONDITION_FAILED,
    );
    await failsWith(write('new.txt', 'v1', { conditions: { ifMatch: '*' } }), ErrorCode.PRECONDITION_FAILED);
    const v2 = await write('doc.txt', 'v2', { conditions: { ifMatch: `"${info.etag}"` } });
    expect(v2.info.revision).toBe(2);
    expect((await read('doc.txt')).bytes?.toString()).toBe('v2');
    expect((await write('fresh.txt', 'n', { conditions: { ifNoneMatch: '*' } })).created).toBe(true);
  });

  it('keeps files and folders apart', async () => {
    await write('a/b.txt', 'x');
    await failsWith(write('a', 'a file where a folder is'), ErrorCode.CONFLICT);
    await failsWith(write('a/b.txt/c', 'below a file'), ErrorCode.CONFLICT);
    expect((await w.files.list('alice', 'alice', '')).items.map((i) => [i.name, i.kind])).toEqual([
      ['a', 'folder'],
    ]);
  });

  it('refuses bad paths, unknown owners and strangers', async () => {
    await failsWith(write('../escape', 'x'), ErrorCode.INVALID);
    await failsWith(write('a//b', 'x'), ErrorCode.INVALID);
    await failsWith(write('x.txt', 'x', { owner: 'nobody' }), ErrorCode.NOT_FOUND);
    // bob holds nothing in alice's pod: he may not write, whether the file exists or not.
    await failsWith(write('x.txt', 'x', { author: 'bob' }), ErrorCode.FORBIDDEN);
    expect((await w.files.list('alice', 'alice', '')).items).toEqual([]);
  });

  it('lets a grantee with read and write modes in a folder work there only', async () => {
    await w.grants.put('alice', 'alice', 'bob', { modes: ['read', 'write'], scope: '/shared/' }, 'r1');
    const made = await write('shared/from-bob.txt', 'hi', { author: 'bob' });
    expect(made.info.author).toBe('bob');
    expect((await read('shared/from-bob.txt', { actor: 'bob' })).bytes?.toString()).toBe('hi');
    await write('private.txt', 'secret');
    await failsWith(read('private.txt', { actor: 'bob' }), ErrorCode.NOT_FOUND);
    await failsWith(write('private.txt', 'mine now', { author: 'bob' }), ErrorCode.FORBIDDEN);
    expect((await read('private.txt')).bytes?.toString()).toBe('secret');
  });
});

describe('FilesService: reading', () => {
  const data = Buffer.from('0123456789abcdefghij');

  for (const [label, size] of [
    ['inline', 0],
    ['blob', 20_000],
  ] as const) {
    it(`answers byte ranges of an ${label} file`, async () => {
      const bytes = Buffer.concat([data, Buffer.alloc(size, 'z')]);
      await write('r.bin', bytes);
      const total = bytes.length;
      const whole = await read('r.bin');
      expect(whole).toMatchObject({ status: 200, start: 0, end: total - 1 });
      expect(whole.bytes?.equals(bytes)).toBe(true);
      const middle = await read('r.bin', { range: 'bytes=2-5' });
      expect(middle).toMatchObject({ status: 206, start: 2, end: 5 });
      expect(middle.bytes?.toString()).toBe('2345');
      const suffix = await read('r.bin', { range: 'bytes=-3' });
      expect(suffix).toMatchObject({ status: 206, start: total - 3, end: total - 1 });
      expect(suffix.bytes?.equals(bytes.subarray(total - 3))).toBe(true);
      const open = await read('r.bin', { range: `bytes=${total - 2}-` });
      expect(open.bytes?.equals(bytes.subarray(total - 2))).toBe(true);
      expect((await read('r.bin', { range: `bytes=${total}-` })).status).toBe(416);
      // A range header this server does not understand is ignored: the whole file.
      expect((await read('r.bin', { range: 'lines=1-2' })).status).toBe(200);
    });
  }

  it('answers 304 to a matching If-None-Match, and ignores a Range whose If-Range is stale', async () => {
    const { info } = await write('c.txt', 'abcdef');
    expect((await read('c.txt', { conditions: { ifNoneMatch: `"${info.etag}"` } })).status).toBe(304);
    expect((await read('c.txt', { conditions: { ifNoneMatch: '"other.1"' } })).status).toBe(200);
    const current = await read('c.txt', { range: 'bytes=0-1', conditions: { ifRange: `"${info.etag}"` } });
    expect(current).toMatchObject({ status: 206 });
    const stale = await read('c.txt', { range: 'bytes=0-1', conditions: { ifRange: '"other.1"' } });
    expect(stale.status).toBe(200);
    expect(stale.bytes?.toString()).toBe('abcdef');
    await failsWith(read('c.txt', { conditions: { ifMatch: '"other.1"' } }), ErrorCode.PRECONDITION_FAILED);
  });

  it('answers not found for a missing file, and a storage outage as it is', async () => {
    await failsWith(read('missing.txt'), ErrorCode.NOT_FOUND);
    await failsWith(w.files.info('alice', 'alice', 'missing.txt'), ErrorCode.NOT_FOUND);
    await write('there.txt', 'x');
    w.store.failWith(new StorageUnavailableError('down for a test'));
    await expect(read('there.txt')).rejects.toBeInstanceOf(StorageUnavailableError);
  });
});

describe('FilesService: listing', () => {
  it('lists a folder in byte order, files with their details, page by page', async () => {
    const names = ['b.txt', 'a.txt', 'Z.txt', 'é.txt', 'sub/x.txt', 'sub/y/z.txt', 'c-d.txt'];
    for (const name of names) await write(`docs/${name}`, name);
    await write('elsewhere.txt', 'not in docs');
    const expected = ['Z.txt', 'a.txt', 'b.txt', 'c-d.txt', 'sub', 'é.txt'];
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await w.files.list('alice', 'alice', 'docs', {
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      expect(result.items.length).toBeLessThanOrEqual(2);
      seen.push(...result.items.map((item) => item.name));
      if (result.next === null) break;
      cursor = result.next;
    }
    expect(seen).toEqual(expected);
    const all = await w.files.list('alice', 'alice', 'docs');
    expect(all.next).toBeNull();
    expect(all.items.find((item) => item.name === 'sub')).toEqual({ name: 'sub', kind: 'folder' });
    expect(all.items.find((item) => item.name === 'a.txt')).toMatchObject({
      kind: 'file',
      size: 5,
      contentType: 'text/plain',
    });
    expect((await w.files.list('alice', 'alice', 'docs/sub')).items.map((i) => i.name)).toEqual([
      'x.txt',
      'y',
    ]);
  });

  it('refuses a cursor it did not give, and a folder that does not exist', async () => {
    await write('docs/a.txt', 'a');
    await failsWith(w.files.list('alice', 'alice', 'docs', { cursor: '' }), ErrorCode.INVALID);
    await failsWith(
      w.files.list('alice', 'alice', 'docs', { cursor: Buffer.from('../x').toString('base64url') }),
      ErrorCode.INVALID,
    );
    await failsWith(w.files.list('alice', 'alice', 'nothing-here'), ErrorCode.NOT_FOUND);
    await failsWith(w.files.list('alice', 'nobody', ''), ErrorCode.NOT_FOUND);
    await failsWith(w.files.list('bob', 'alice', 'docs'), ErrorCode.NOT_FOUND);
  });
});

describe('FilesService: deleting', () => {
  it('deletes a file and its blob, once, and publishes it', async () => {
    await write('gone.bin', randomBytes(20_000));
    expect(await blobKeys()).toHaveLength(1);
    await w.files.delete('alice', 'alice', 'gone.bin');
    expect(await blobKeys()).toEqual([]);
    await failsWith(read('gone.bin'), ErrorCode.NOT_FOUND);
    await failsWith(w.files.delete('alice', 'alice', 'gone.bin'), ErrorCode.NOT_FOUND);
    expect(w.events.at(-1)).toMatchObject({ kind: 'file.deleted', owner: 'alice', path: 'gone.bin' });
  });

  it('deletes only the version an If-Match names, and nothing for a stranger', async () => {
    const { info } = await write('kept.txt', 'v1');
    await failsWith(
      w.files.delete('alice', 'alice', 'kept.txt', { ifMatch: '"other.1"' }),
      ErrorCode.PRECONDITION_FAILED,
    );
    await failsWith(w.files.delete('bob', 'alice', 'kept.txt'), ErrorCode.FORBIDDEN);
    expect((await read('kept.txt')).bytes?.toString()).toBe('v1');
    await w.files.delete('alice', 'alice', 'kept.txt', { ifMatch: `"${info.etag}"` });
    await failsWith(read('kept.txt'), ErrorCode.NOT_FOUND);
  });

  it('of concurrent deletes of one file, exactly one succeeds', async () => {
    await write('race.txt', 'x');
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => w.files.delete('alice', 'alice', 'race.txt')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(w.events.filter((e) => e.kind === 'file.deleted')).toHaveLength(1);
  });
});

describe('FilesService: metadata', () => {
  it('patches tags and description without touching the bytes', async () => {
    const { info } = await write('m.txt', 'bytes');
    const patched = await w.files.patch('alice', 'alice', 'm.txt', { tags: ['x', 'y'], description: 'd' });
    expect(patched).toMatchObject({ tags: ['x', 'y'], description: 'd', sha256: info.sha256, revision: 2 });
    expect(patched.etag).not.toBe(info.etag);
    expect((await read('m.txt')).bytes?.toString()).toBe('bytes');
    await failsWith(
      w.files.patch('alice', 'alice', 'm.txt', { description: 'e' }, { ifMatch: `"${info.etag}"` }),
      ErrorCode.PRECONDITION_FAILED,
    );
  });
});
