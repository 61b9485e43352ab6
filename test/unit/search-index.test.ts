/**
 * The pod index and its indexer on the in-memory store: adding, replacing and removing entries, updates
 * from two indexers at once (none lost), the account's incarnation, and the bounds on what is indexed.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { derivedKey, derivedPrefix, TEXT_NAME } from '../../worker/processing/derived-keys.ts';
import { PodIndex, searchRoot, shardKey, shardOf } from '../../worker/search/pod-index.ts';
import { PodIndexStore } from '../../worker/search/pod-index-store.ts';
import { PodIndexer } from '../../worker/search/pod-indexer.ts';
import { PreconditionFailedError } from '../../worker/storage/object-store.ts';
import { IncarnationReader, PodWriteGuard } from '../../worker/users/incarnation.ts';
import { type MemoryWorker, memoryWorker } from '../helpers/memory-worker.ts';
import {
  bytesOf,
  documentOf,
  parsedShards,
  type SearchParts,
  searchParts,
  storedShards,
} from '../helpers/search-worker.ts';

let w: MemoryWorker;
let s: SearchParts;

beforeEach(async () => {
  w = memoryWorker();
  await w.signUp('alice');
  s = searchParts(w);
});

/** Writes a new version of alice's file, without indexing it. */
async function write(path: string, text: string) {
  const plan = await w.files.planWrite({
    owner: 'alice',
    path,
    contentType: 'text/plain',
    author: 'alice',
    conditions: {},
  });
  return (await w.files.commitWrite(plan, bytesOf(text))).info;
}

const paths = async (q: string, actor = 'alice') =>
  (await s.query(actor, 'alice', q)).items.map((i) => i.path);

describe('PodIndexer', () => {
  it('adds a file under the words of its text, name, folders and metadata', async () => {
    await s.index('alice', 'medical/lab-result.txt', 'haemoglobin within range', {
      tags: ['bloodwork'],
      description: 'annual check',
    });
    for (const q of ['haemoglobin', 'lab', 'result', 'medical', 'bloodwork', 'annual', 'alice']) {
      expect(await paths(q), q).toEqual(['medical/lab-result.txt']);
    }
    expect(await paths('nothinglikethis')).toEqual([]);
  });

  it('replaces a file’s entry when a new version is indexed, and is idempotent', async () => {
    const first = await s.index('alice', 'notes/a.txt', 'apples and pears');
    await s.index('alice', 'notes/a.txt', 'bananas only');
    expect(await paths('apples')).toEqual([]);
    expect(await paths('bananas')).toEqual(['notes/a.txt']);
    // The same version again changes nothing; an older one arriving late does not roll it back.
    const shard = shardKey('alice', shardOf('notes/a.txt'));
    const stored = await w.store.head(shard);
    await s.indexer.upsert('alice', documentOf(first, 'apples and pears'));
    expect(await paths('bananas')).toEqual(['notes/a.txt']);
    expect((await w.store.head(shard))?.etag).toBe(stored?.etag);
  });

  it('removes a file’s entry, idempotently', async () => {
    await s.index('alice', 'notes/a.txt', 'apples');
    await s.index('alice', 'notes/b.txt', 'apples');
    await s.indexer.remove('alice', 'notes/a.txt');
    await s.indexer.remove('alice', 'notes/a.txt');
    await s.indexer.remove('alice', 'never/was.txt');
    expect(await paths('apples')).toEqual(['notes/b.txt']);
  });

  it('keeps the text for snippets beside the file’s derived data, not in the index', async () => {
    const info = await s.index('alice', 'notes/a.txt', 'a very particular sentence');
    const text = await w.store.get(derivedKey('alice', 'notes/a.txt', info.etag, TEXT_NAME));
    expect(text?.body.toString()).toBe('a very particular sentence');
    const shards = await storedShards(w.store, 'alice');
    expect(shards.length).toBeGreaterThan(0);
    for (const { body } of shards) expect(body.toString()).not.toContain('particular sentence');
  });

  it('indexes at most maxTextChars of a text', async () => {
    s = searchParts(w, { maxTextChars: 100 });
    const text = `${'filler '.repeat(20)}beyondthebound`;
    await s.index('alice', 'long.txt', text);
    expect(await paths('filler')).toEqual(['long.txt']);
    expect(await paths('beyondthebound')).toEqual([]);
  });

  it('bounds a shard: past the bound new files are found by name only, then not added; removals still go', async () => {
    const bound = 24 * 1024;
    s = searchParts(w, { maxShardBytes: bound });
    // Files of one shard, each with 2,000 characters of words of its own.
    const shard = shardOf('notes/f0.txt');
    const names = Array.from({ length: 400 }, (_, i) => `notes/f${i}.txt`).filter(
      (p) => shardOf(p) === shard,
    );
    const words = (i: number) => Array.from({ length: 250 }, (_, j) => `w${i}x${j}`).join(' ');
    const shardBytes = async () =>
      (await storedShards(w.store, 'alice')).find((o) => o.key === shardKey('alice', shard))?.body.length ??
      0;
    let n = 0;
    let firstWithoutText = -1;
    while (firstWithoutText < 0 && n < names.length) {
      await s.index('alice', names[n] as string, words(n));
      if ((await paths(`w${n}x7`)).length === 0) firstWithoutText = n;
      n++;
      expect(await shardBytes()).toBeLessThanOrEqual(bound);
    }
    expect(firstWithoutText).toBeGreaterThan(0);
    // The earlier files keep their text; the one past the bound is found by its name, not its words.
    expect(await paths('w0x7')).toEqual([names[0]]);
    const stem = (i: number) => (names[i] as string).slice('notes/'.length, -'.txt'.length);
    expect(await paths(stem(firstWithoutText))).toEqual([names[firstWithoutText]]);
    // More files, with long descriptions, until even names no longer fit: then none is added.
    let notAdded = -1;
    for (; notAdded < 0 && n < names.length; n++) {
      const name = names[n] as string;
      const description = Array.from({ length: 80 }, (_, j) => `d${n}y${j}`).join(' ');
      await s.index('alice', name, words(n), { description });
      if ((await paths(`d${n}y0`)).length === 0) notAdded = n;
      expect(await shardBytes()).toBeLessThanOrEqual(bound);
    }
    expect(notAdded).toBeGreaterThan(firstWithoutText);
    // The indexer says what it took of each, for the file's processing status.
    expect(s.outcomes.get(`alice/${names[0]}`)).toBe('full');
    expect(s.outcomes.get(`alice/${names[firstWithoutText]}`)).toBe('without-text');
    expect(s.outcomes.get(`alice/${names[notAdded]}`)).toBe('none');
    // A removal still goes, and frees room.
    const before = await shardBytes();
    await s.indexer.remove('alice', names[0] as string);
    expect(await paths('w0x7')).toEqual([]);
    expect(await shardBytes()).toBeLessThan(before);
  });

  it('loses no update when two indexers (two workers) update one pod at once', async () => {
    const other = searchParts(w);
    const infos = [];
    for (let i = 0; i < 40; i++) {
      const plan = await w.files.planWrite({
        owner: 'alice',
        path: `many/f${i}.txt`,
        contentType: 'text/plain',
        author: 'alice',
        conditions: {},
      });
      infos.push(
        (
          await w.files.commitWrite(
            plan,
            (async function* () {
              yield Buffer.from(`word${i}`);
            })(),
          )
        ).info,
      );
    }
    await Promise.all(
      infos.map((info, i) =>
        (i % 2 === 0 ? s : other).indexer.upsert('alice', documentOf(info, `common word${i}`)),
      ),
    );
    const all = (await s.query('alice', 'alice', 'common', 50)).items.map((i) => i.path);
    expect(all.sort()).toEqual(infos.map((i) => i.path).sort());
    // and removals interleaved from both sides
    await Promise.all(
      infos.slice(0, 20).map((info, i) => (i % 2 === 0 ? other : s).indexer.remove('alice', info.path)),
    );
    expect((await s.query('alice', 'alice', 'common', 50)).items).toHaveLength(20);
  });

  it('retries a write another worker got in first, and gives up after its attempts', async () => {
    const store = w.store;
    let refusals = 3;
    const flaky = new Proxy(store, {
      get(target, name, receiver) {
        if (name === 'put')
          return async (key: string, body: Buffer, options: object) => {
            if (key.startsWith(searchRoot('alice')) && refusals-- > 0)
              throw new PreconditionFailedError('raced');
            return target.put(key, body, options);
          };
        const value = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const indexer = new PodIndexer(
      flaky,
      new PodIndexStore(flaky),
      new PodWriteGuard(new IncarnationReader(store), 0),
      {
        maxTextChars: 1000,
        maxAttempts: 4,
      },
    );
    await s.index('alice', 'x.txt', 'zebra');
    const second = await write('x.txt', 'quokka');
    await indexer.upsert('alice', documentOf(second, 'quokka'));
    const stored = PodIndex.parse(
      (await store.get(shardKey('alice', shardOf('x.txt'))))?.body ?? Buffer.alloc(0),
    );
    expect(stored.entry('x.txt')?.etag).toBe(second.etag);
    expect(refusals).toBe(-1);
    refusals = 10;
    await expect(indexer.remove('alice', 'x.txt')).rejects.toThrow(/kept changing/);
  });

  it('ties the index to the account: a new account of the same name starts from an empty index', async () => {
    await s.index('alice', 'secret/old.txt', 'diagnosis');
    for (let i = 0; i < 20; i++) await s.index('alice', `secret/more-${i}.txt`, 'diagnosis');
    const [before] = await parsedShards(w.store, 'alice');
    // The account is erased except its index (an erasure still under way), and the name signed up again.
    const shards = await storedShards(w.store, 'alice');
    await w.store.deletePrefix('users/alice/');
    for (const { key, body } of shards) await w.store.put(key, body);
    await w.signUp('alice');
    // The old index is never searched, even with a file at the same path…
    const plan = await w.files.planWrite({
      owner: 'alice',
      path: 'secret/old.txt',
      contentType: 'text/plain',
      author: 'alice',
      conditions: {},
    });
    await w.files.commitWrite(
      plan,
      (async function* () {
        yield Buffer.from('x');
      })(),
    );
    expect(await paths('diagnosis')).toEqual([]);
    // …and the first update replaces it with the new account's.
    await s.index('alice', 'new.txt', 'fresh start');
    const current = (await parsedShards(w.store, 'alice')).filter(
      (shard) => shard.incarnation !== before?.incarnation,
    );
    expect(current.flatMap((shard) => [...shard.paths()])).toEqual(['new.txt']);
    expect(await paths('diagnosis')).toEqual([]);
  });

  it('indexes only the file’s current version: a late job adds nothing, after a delete no text either', async () => {
    const first = await s.index('alice', 'notes/a.txt', 'original words');
    const second = await write('notes/a.txt', 'second words');
    await s.indexer.upsert('alice', documentOf(first, 'original words'));
    expect(await paths('original')).toEqual([]); // the live check hides it; the index keeps the old entry
    await s.indexer.upsert('alice', documentOf(second, 'second words'));
    expect(await paths('second')).toEqual(['notes/a.txt']);
    await w.files.delete('alice', 'alice', 'notes/a.txt');
    await w.store.deletePrefix(derivedPrefix('alice', 'notes/a.txt')); // the pipeline's clean-up
    await s.indexer.upsert('alice', documentOf(second, 'second words')); // a job that comes late
    expect(await w.store.list(derivedPrefix('alice', 'notes/a.txt'))).toEqual({ items: [] });
    const shard = PodIndex.parse(
      (await w.store.get(shardKey('alice', shardOf('notes/a.txt'))))?.body ?? Buffer.alloc(0),
    );
    expect(shard.entry('notes/a.txt')).toBeUndefined();
  });

  it('indexes nothing for an account that is gone', async () => {
    const info = await s.index('alice', 'a.txt', 'words');
    await w.store.deletePrefix('users/alice/');
    await s.indexer.upsert('alice', documentOf({ ...info, etag: 'later' }, 'more words'));
    expect(await w.store.list('users/alice/')).toEqual({ items: [] });
  });

  it('compacts the engine after many replacements (the stored index does not grow without bound)', async () => {
    await s.index('alice', 'a.txt', 'v0');
    const sizes: number[] = [];
    for (let i = 1; i <= 200; i++) {
      await s.index('alice', 'a.txt', `version${i} text`);
      if (i % 50 === 0) sizes.push((await w.store.head(shardKey('alice', shardOf('a.txt'))))?.size ?? 0);
    }
    // Without compaction it grows with every version (about 60 bytes each); with it, it stays bounded.
    expect(Math.max(...sizes)).toBeLessThan(1.5 * (sizes[0] ?? 0));
  });
});

describe('PodIndexStore', () => {
  it('takes an unreadable shard for an empty one: searched as nothing, replaced by the next update', async () => {
    await s.index('alice', 'a.txt', 'alpha');
    const key = shardKey('alice', shardOf('a.txt'));
    for (const body of ['{"format":1,"incarnation":"x"}', 'not json', '{"format":2}']) {
      await w.store.put(key, Buffer.from(body));
      expect(await paths('alpha')).toEqual([]);
      await s.index('alice', 'a.txt', `alpha ${body.length}`);
      expect(await paths('alpha')).toEqual(['a.txt']);
    }
  });

  it('keeps shards in memory only within its byte budget', async () => {
    await s.index('alice', 'a.txt', 'alpha '.repeat(200));
    const shard = shardOf('a.txt');
    const stored = (await w.store.get(shardKey('alice', shard)))?.body.length ?? 0;
    expect(stored).toBeGreaterThan(100);
    const downloads = async (cacheBytes: number) => {
      let gets = 0;
      const store = w.store;
      const counted = new Proxy(store, {
        get(target, name, receiver) {
          if (name === 'get') gets++;
          const value = Reflect.get(target, name, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const indexes = new PodIndexStore(counted, 32, cacheBytes);
      for (let i = 0; i < 3; i++) expect((await indexes.load('alice', shard)).index).toBeDefined();
      return gets;
    };
    expect(await downloads(stored)).toBe(1); // parsed once, then checked by HEAD
    expect(await downloads(stored - 1)).toBe(3); // too big to keep: read each time
  });
});
