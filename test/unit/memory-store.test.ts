/**
 * The in-memory ObjectStore passes the same contract suite as the S3 and filesystem adapters, with no
 * server; then what only it offers: stores are separate, and failWith simulates an outage.
 */
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../worker/storage/memory-store.ts';
import { StorageUnavailableError } from '../../worker/storage/object-store.ts';
import { chunksOf, must, objectStoreContract, readBody, text } from '../helpers/object-store-contract.ts';

objectStoreContract(
  'memory',
  async () => ({ store: new MemoryObjectStore(), cleanup: async () => {}, leftovers: async () => [] }),
  { keepsBodiesInMemory: true },
);

describe('MemoryObjectStore', () => {
  it('keeps two stores apart, and an etag of one never matches in the other', async () => {
    const [a, b] = [new MemoryObjectStore(), new MemoryObjectStore()];
    const { etag } = await a.put('k', text('in a'));
    expect(await b.get('k')).toBeUndefined();
    await b.put('k', text('in b'));
    await expect(b.put('k', text('x'), { ifMatch: etag })).rejects.toThrow(/etag/);
    expect((await b.get('k'))?.body.toString()).toBe('in b');
  });

  it('stores copies: changing a Buffer after put or after get changes nothing stored', async () => {
    const store = new MemoryObjectStore();
    const body = text('original');
    await store.put('k', body);
    body.fill(0);
    const read = must(await store.get('k'));
    read.body.fill(0);
    expect((await store.get('k'))?.body.toString()).toBe('original');
    const reused = Buffer.from('abc');
    async function* sameBuffer() {
      yield reused;
      reused.write('xyz');
      yield reused;
    }
    await store.putStream('s', sameBuffer());
    expect((await store.get('s'))?.body.toString()).toBe('abcxyz');
  });

  it('a reader keeps the version it opened while the key is overwritten', async () => {
    const store = new MemoryObjectStore();
    await store.put('k', Buffer.alloc(300_000, 1));
    const opened = must(await store.getStream('k'));
    await store.putStream('k', chunksOf(Buffer.alloc(10, 2), 5));
    const bytes = await readBody(opened.body);
    expect(bytes.length).toBe(300_000);
    expect(bytes.every((byte) => byte === 1)).toBe(true);
  });

  it('failWith makes every operation fail until healed', async () => {
    const store = new MemoryObjectStore();
    await store.put('k', text('v'));
    store.failWith(new StorageUnavailableError('down for a test'));
    await expect(store.ping()).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.get('k')).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.put('k', text('w'))).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.list('')).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.listChildren('')).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(store.putStream('s', chunksOf(text('x'), 1))).rejects.toBeInstanceOf(
      StorageUnavailableError,
    );
    await expect(store.deletePrefix('')).rejects.toBeInstanceOf(StorageUnavailableError);
    store.failWith(undefined);
    expect((await store.get('k'))?.body.toString()).toBe('v');
    expect(store.size).toBe(1);
  });
});
