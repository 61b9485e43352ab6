/**
 * The processing pipeline on the in-memory store, with a media toolkit that records what it was asked
 * (the real one, sharp and pdf.js in a sandbox, is tested in processing-*.test.ts and end to end in
 * test/integration/file-processing.test.ts): what is made for a version, what is removed when the file
 * changes or goes, failures marked, idempotence, an erased account.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { fileKey } from '../../worker/files/file-record.ts';
import { derivedPrefix, derivedRoot } from '../../worker/processing/derived-keys.ts';
import {
  type MediaToolkit,
  ProcessingPipeline,
  previewKey,
  type SearchIndexer,
} from '../../worker/processing/processing-pipeline.ts';
import { readStatus, viewOf } from '../../worker/processing/processing-status.ts';
import { PodIndex, shardKey, shardOf } from '../../worker/search/pod-index.ts';
import { PodIndexStore } from '../../worker/search/pod-index-store.ts';
import { PodIndexer } from '../../worker/search/pod-indexer.ts';
import type { SearchDocument } from '../../worker/search/search-document.ts';
import { SearchService } from '../../worker/search/search-service.ts';
import { IncarnationReader, PodWriteGuard } from '../../worker/users/incarnation.ts';
import { profileKey } from '../../worker/users/users-service.ts';
import { type MemoryWorker, memoryWorker } from '../helpers/memory-worker.ts';
import { recordingStore } from '../helpers/recording-store.ts';

class Refused extends Error {
  constructor(readonly code: string) {
    super(`refused: ${code}`);
  }
}

/** Detects by the first byte: I image, P pdf, T text; X is refused as a bomb; anything else: nothing. */
function recordingToolkit() {
  const runs: string[] = [];
  let before: (() => Promise<void>) | undefined;
  const toolkit: MediaToolkit = {
    detectKind: (head) =>
      ({ I: 'image', P: 'pdf', T: 'text', X: 'image' })[String.fromCharCode(head[0] ?? 0)],
    previewKinds: new Set(['image', 'pdf']),
    textKinds: new Set(['pdf', 'text']),
    previewSizes: [256, 1024],
    maxInputBytes: 1000,
    run: async (job) => {
      runs.push(`${job.kind}:${Buffer.from(job.bytes).toString()}`);
      await before?.();
      if (job.bytes[0] === 'X'.charCodeAt(0)) throw new Refused('too_many_pixels');
      const previews = new Map<number, Buffer>();
      if (job.previews) for (const size of [256, 1024]) previews.set(size, Buffer.from(`img${size}`));
      return job.text ? { previews, text: `text of ${Buffer.from(job.bytes).toString()}` } : { previews };
    },
    refusalCode: (error) => (error instanceof Refused ? error.code : undefined),
  };
  return { toolkit, runs, beforeRun: (fn: () => Promise<void>) => (before = fn) };
}

class RecordingIndex implements SearchIndexer {
  docs = new Map<string, SearchDocument>();
  async upsert(owner: string, doc: SearchDocument) {
    this.docs.set(`${owner}/${doc.path}`, doc);
    return 'full' as const;
  }
  async remove(owner: string, path: string) {
    this.docs.delete(`${owner}/${path}`);
  }
}

let w: MemoryWorker;
let media: ReturnType<typeof recordingToolkit>;
let index: RecordingIndex;
let pipeline: ProcessingPipeline;
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;

beforeEach(async () => {
  w = memoryWorker();
  await w.signUp('alice');
  media = recordingToolkit();
  index = new RecordingIndex();
  pipeline = new ProcessingPipeline(
    w.store,
    new PodWriteGuard(new IncarnationReader(w.store), 0),
    media.toolkit,
    index,
    silent,
  );
});

async function write(path: string, text: string, contentType = 'application/octet-stream') {
  const plan = await w.files.planWrite({
    owner: 'alice',
    path,
    contentType,
    author: 'alice',
    conditions: {},
  });
  return (
    await w.files.commitWrite(
      plan,
      (async function* () {
        yield Buffer.from(text);
      })(),
    )
  ).info;
}

const keys = async (prefix: string) => (await w.store.list(prefix)).items.map((item) => item.key);

describe('ProcessingPipeline', () => {
  it('makes the previews and text of the current version, indexes it, and marks it done', async () => {
    const info = await write('scans/a.pdf', 'P-lab', 'application/pdf');
    expect(await pipeline.reconcile('alice', 'scans/a.pdf')).toBe('processed');
    const status = await readStatus(w.store, 'alice', 'scans/a.pdf', info.etag);
    expect(status).toMatchObject({
      state: 'done',
      kind: 'pdf',
      previews: [256, 1024],
      text: true,
      etag: info.etag,
    });
    expect((await w.store.get(previewKey('alice', 'scans/a.pdf', info.etag, 256)))?.body.toString()).toBe(
      'img256',
    );
    expect(index.docs.get('alice/scans/a.pdf')).toMatchObject({
      etag: info.etag,
      name: 'a.pdf',
      text: 'text of P-lab',
    });
  });

  it('hands the text it made to the index, and reads it back only for a version made before', async () => {
    const textReads: string[] = [];
    const store = w.store;
    const counted = new Proxy(store, {
      get(target, name, receiver) {
        if (name === 'get')
          return (key: string) => {
            if (key.endsWith('/text.txt')) textReads.push(key);
            return target.get(key);
          };
        const value = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const reading = new ProcessingPipeline(
      counted,
      new PodWriteGuard(new IncarnationReader(store), 0),
      media.toolkit,
      index,
      silent,
    );
    await write('scans/b.pdf', 'P-two', 'application/pdf');
    expect(await reading.reconcile('alice', 'scans/b.pdf')).toBe('processed');
    expect(textReads).toEqual([]);
    expect(index.docs.get('alice/scans/b.pdf')?.text).toBe('text of P-two');
    index.docs.clear();
    expect(await reading.reconcile('alice', 'scans/b.pdf')).toBe('indexed');
    expect(textReads).toHaveLength(1);
    expect(index.docs.get('alice/scans/b.pdf')?.text).toBe('text of P-two');
  });

  it('runs the media work once per version: a job delivered twice only indexes again', async () => {
    await write('a.png', 'I1');
    await pipeline.reconcile('alice', 'a.png');
    expect(await pipeline.reconcile('alice', 'a.png')).toBe('indexed');
    expect(media.runs).toEqual(['image:I1']);
  });

  it('removes the derived data of a replaced version, and all of it with the file', async () => {
    const first = await write('a.png', 'I1');
    await pipeline.reconcile('alice', 'a.png');
    const second = await write('a.png', 'I2');
    await pipeline.reconcile('alice', 'a.png');
    expect(await keys(derivedPrefix('alice', 'a.png'))).toEqual(
      expect.not.arrayContaining([expect.stringContaining(`/${first.etag}/`)]),
    );
    expect(await readStatus(w.store, 'alice', 'a.png', second.etag)).toMatchObject({ state: 'done' });
    await w.files.delete('alice', 'alice', 'a.png', {});
    expect(await pipeline.reconcile('alice', 'a.png')).toBe('removed');
    expect(await keys(derivedRoot('alice'))).toEqual([]);
    expect(index.docs.has('alice/a.png')).toBe(false);
  });

  it('clears a replaced version with one listing and one batch delete, and reads no status that is not there', async () => {
    const first = await write('a.png', 'I1');
    await pipeline.reconcile('alice', 'a.png');
    const second = await write('a.png', 'I2');
    const derived = derivedPrefix('alice', 'a.png');
    const recorded = recordingStore(w.store);
    // The calls that touch the file's derived data.
    const derivedCalls = () => recorded.calls.filter((c) => c.keys.some((k) => k.startsWith(derived)));
    const guard = new PodWriteGuard(new IncarnationReader(w.store), 0);
    const job = new ProcessingPipeline(recorded.store, guard, media.toolkit, index, silent);
    expect(await job.reconcile('alice', 'a.png')).toBe('processed');
    const removals = derivedCalls().filter((c) => !['put', 'get'].includes(c.op));
    expect(removals.map((c) => c.op)).toEqual(['list', 'deleteMany']);
    expect(removals[1]?.keys.length).toBeGreaterThan(0);
    expect(removals[1]?.keys.every((key) => key.includes(`/${first.etag}/`))).toBe(true);
    // The new version had nothing yet: its status was not looked for.
    expect(derivedCalls().filter((c) => c.op === 'get')).toEqual([]);
    expect((await keys(derived)).every((key) => key.includes(`/${second.etag}/`))).toBe(true);
    expect(await readStatus(w.store, 'alice', 'a.png', second.etag)).toMatchObject({ state: 'done' });
    // Delivered again: its status is found (read once) and nothing is made twice.
    recorded.calls.length = 0;
    expect(await job.reconcile('alice', 'a.png')).toBe('indexed');
    expect(
      derivedCalls()
        .filter((c) => c.op === 'get')
        .map((c) => c.keys[0]),
    ).toEqual([`${derived}${second.etag}/status.json`]);
    expect(media.runs).toEqual(['image:I1', 'image:I2']);
  });

  it('marks a file the media library refuses as failed, with the reason, and makes nothing else', async () => {
    const info = await write('bomb.png', 'X-huge');
    await pipeline.reconcile('alice', 'bomb.png');
    expect(await readStatus(w.store, 'alice', 'bomb.png', info.etag)).toMatchObject({
      state: 'failed',
      reason: 'too_many_pixels',
      previews: [],
    });
    expect(await keys(derivedPrefix('alice', 'bomb.png'))).toHaveLength(1); // the status alone
  });

  it('refuses a file over the input limit without reading it', async () => {
    const info = await write('big.png', `I${'x'.repeat(2000)}`);
    await pipeline.reconcile('alice', 'big.png');
    expect(await readStatus(w.store, 'alice', 'big.png', info.etag)).toMatchObject({
      state: 'failed',
      reason: 'too_large',
    });
    expect(media.runs).toEqual([]);
  });

  it('indexes files of no processable kind by their metadata, with no previews', async () => {
    const info = await write('notes/x.bin', 'zzz');
    await pipeline.reconcile('alice', 'notes/x.bin');
    expect(await readStatus(w.store, 'alice', 'notes/x.bin', info.etag)).toMatchObject({
      state: 'done',
      previews: [],
      text: false,
    });
    expect(index.docs.get('alice/notes/x.bin')).toMatchObject({ text: '', name: 'x.bin' });
    expect(media.runs).toEqual([]);
  });

  it('follows a file replaced while its job ran: nothing of the old version stays', async () => {
    const first = await write('a.png', 'I1');
    let replaced = false;
    media.beforeRun(async () => {
      if (replaced) return;
      replaced = true;
      await write('a.png', 'I2');
    });
    await pipeline.reconcile('alice', 'a.png');
    const current = await w.files.info('alice', 'alice', 'a.png');
    expect(current.etag).not.toBe(first.etag);
    expect(media.runs).toEqual(['image:I1', 'image:I2']);
    expect(await keys(derivedPrefix('alice', 'a.png'))).toEqual(
      expect.not.arrayContaining([expect.stringContaining(`/${first.etag}/`)]),
    );
    expect(index.docs.get('alice/a.png')?.etag).toBe(current.etag);
  });

  it('writes nothing back for an account erased while its job ran', async () => {
    await write('a.png', 'I1');
    media.beforeRun(async () => {
      await w.store.delete(profileKey('alice'));
    });
    expect(await pipeline.reconcile('alice', 'a.png')).toBe('account-gone');
    expect(await keys(derivedRoot('alice'))).toEqual([]);
  });

  it('skips a job of another incarnation of the name', async () => {
    await write('a.png', 'I1');
    expect(await pipeline.reconcile('alice', 'a.png', 'some-earlier-account')).toBe('account-gone');
    expect(media.runs).toEqual([]);
  });

  it('marks a parked job failed (gave_up) on the current version', async () => {
    const info = await write('a.png', 'I1');
    await pipeline.markFailed('alice', 'a.png', 'gave_up');
    expect(await readStatus(w.store, 'alice', 'a.png', info.etag)).toMatchObject({
      state: 'failed',
      reason: 'gave_up',
    });
  });
});

describe('ProcessingPipeline with the pod index', () => {
  /** The store's reads, as `op key`, while `run` runs. */
  async function readsDuring(run: () => Promise<unknown>): Promise<string[]> {
    const reads: string[] = [];
    const store = w.store;
    const original = { get: store.get.bind(store), head: store.head.bind(store) };
    store.get = async (key, ...rest) => {
      reads.push(`get ${key}`);
      return original.get(key, ...rest);
    };
    store.head = async (key) => {
      reads.push(`head ${key}`);
      return original.head(key);
    };
    try {
      await run();
    } finally {
      store.get = original.get;
      store.head = original.head;
    }
    return reads;
  }

  it('reads a file’s record twice per job (before the work, after the index) and the account once', async () => {
    // The worker's wiring: one guard (which remembers a sight of the account) for the pipeline and its indexer.
    const guard = new PodWriteGuard(new IncarnationReader(w.store), 2000);
    const indexes = new PodIndexStore(w.store);
    const indexer = new PodIndexer(w.store, indexes, guard, { maxTextChars: 1000 });
    const real = new ProcessingPipeline(w.store, guard, media.toolkit, indexer, silent);
    await write('notes/a.txt', 'T-first words');
    const reads = await readsDuring(() => real.reconcile('alice', 'notes/a.txt'));
    expect(reads.filter((r) => r === `get ${fileKey('alice', 'notes/a.txt')}`)).toHaveLength(2);
    expect(reads.filter((r) => r.endsWith(profileKey('alice')))).toHaveLength(1);
    const search = new SearchService(w.store, indexes, w.access, new IncarnationReader(w.store));
    expect((await search.query('alice', 'alice', 'first')).items.map((i) => i.path)).toEqual(['notes/a.txt']);

    // A job of a version deleted while it ran: the second read takes its entry out again.
    await write('notes/b.txt', 'T-gone soon');
    media.beforeRun(() => w.files.delete('alice', 'alice', 'notes/b.txt').then(() => undefined));
    expect(await real.reconcile('alice', 'notes/b.txt')).toBe('removed');
    const shard = PodIndex.parse(
      (await w.store.get(shardKey('alice', shardOf('notes/b.txt'))))?.body ?? Buffer.alloc(0),
    );
    expect(shard.entry('notes/b.txt')).toBeUndefined();
    expect((await search.query('alice', 'alice', 'gone')).items).toEqual([]);
  });
});

describe('ProcessingPipeline and a full pod index', () => {
  it('says in the file’s status when the index could take only its name and metadata', async () => {
    const guard = new PodWriteGuard(new IncarnationReader(w.store), 2000);
    const indexer = new PodIndexer(w.store, new PodIndexStore(w.store), guard, {
      maxTextChars: 100_000,
      maxShardBytes: 1500, // room for a name and metadata, not for 150 words
    });
    const real = new ProcessingPipeline(w.store, guard, media.toolkit, indexer, silent);
    const words = Array.from({ length: 150 }, (_, i) => `w${i}`).join(' ');
    const info = await write('notes/long.txt', `T-${words}`);
    expect(await real.reconcile('alice', 'notes/long.txt')).toBe('processed');
    const status = await readStatus(w.store, 'alice', 'notes/long.txt', info.etag);
    expect(status).toMatchObject({ state: 'done', text: true, search: 'without-text' });
    expect(viewOf(status)).toEqual({ state: 'done', search: 'without-text' });
    // A short file in the same pod is indexed whole, and its status says nothing more.
    const short = await write('notes/s.txt', 'T-few words');
    expect(await real.reconcile('alice', 'notes/s.txt')).toBe('processed');
    const shortStatus = await readStatus(w.store, 'alice', 'notes/s.txt', short.etag);
    expect(shortStatus?.search).toBeUndefined();
    expect(viewOf(shortStatus)).toEqual({ state: 'done' });
  });
});
