/**
 * The whole-pod scan (processing-backfill.ts) on the in-memory store: which file versions get their
 * processing job asked for again (old enough, no status), in every pod, and what it leaves alone.
 */
import { describe, expect, it } from 'vitest';
import { ProcessingBackfill } from '../../worker/processing/processing-backfill.ts';
import { statusKey, writeStatus } from '../../worker/processing/processing-status.ts';
import { type MemoryWorker, memoryWorker } from '../helpers/memory-worker.ts';

async function write(w: MemoryWorker, owner: string, path: string) {
  const plan = await w.files.planWrite({
    owner,
    path,
    contentType: 'text/plain',
    author: owner,
    conditions: {},
  });
  const bytes = (async function* () {
    yield Buffer.from(`bytes of ${path}`);
  })();
  return (await w.files.commitWrite(plan, bytes)).info;
}

describe('ProcessingBackfill', () => {
  it('asks again for the job of every old version without a status, in every pod, and for no other', async () => {
    const w = memoryWorker();
    await w.signUp('alice');
    await w.signUp('bob');
    const lost = await write(w, 'alice', 'scans/a.pdf');
    const done = await write(w, 'alice', 'scans/b.pdf');
    await writeStatus(w.store, 'alice', 'scans/b.pdf', {
      state: 'done',
      previews: [],
      text: false,
      etag: done.etag,
      at: done.updatedAt,
    });
    const bobs = await write(w, 'bob', 'notes/deep/c.txt');
    const asked: string[] = [];
    const requeue = (owner: string, path: string, etag: string) => asked.push(`${owner}/${path}@${etag}`);

    // Too young: a job may still be on its way.
    const now = Date.now();
    const young = new ProcessingBackfill(w.store, requeue, {
      afterMs: 60_000,
      perSecond: 10_000,
      clock: () => now,
    });
    expect(await young.sweep()).toEqual({ removed: 0, kept: 3 });
    expect(asked).toEqual([]);

    const later = new ProcessingBackfill(w.store, requeue, {
      afterMs: 60_000,
      perSecond: 10_000,
      clock: () => now + 120_000,
    });
    expect(await later.sweep()).toEqual({ removed: 2, kept: 1 });
    expect(asked.sort()).toEqual([`alice/scans/a.pdf@${lost.etag}`, `bob/notes/deep/c.txt@${bobs.etag}`]);
    expect(await w.store.head(statusKey('alice', 'scans/a.pdf', lost.etag))).toBeUndefined();
  });

  it('lets pods take turns a page at a time: a huge pod does not hold up the others', async () => {
    const w = memoryWorker();
    await w.signUp('hoarder');
    await w.signUp('patient');
    for (let i = 0; i < 20; i++) await write(w, 'hoarder', `pile/f${i}.txt`);
    await write(w, 'patient', 'lab/result.pdf');
    const asked: string[] = [];
    const backfill = new ProcessingBackfill(w.store, (owner) => asked.push(owner), {
      afterMs: 0,
      perSecond: 10_000,
      pageSize: 5,
      clock: () => Date.now() + 1000,
      random: () => 0, // the walk starts with the first pod listed: the hoarder's
    });
    expect(await backfill.sweep()).toEqual({ removed: 21, kept: 0 });
    // The patient's file comes right after the hoarder's first page, not after all 20 of its files.
    expect(asked.indexOf('patient')).toBe(5);
  });

  it('keeps to its pace: at most perSecond records a second', async () => {
    const w = memoryWorker();
    await w.signUp('alice');
    for (let i = 0; i < 6; i++) await write(w, 'alice', `f${i}.txt`);
    const backfill = new ProcessingBackfill(w.store, () => {}, { afterMs: 1000, perSecond: 20 });
    const started = performance.now();
    expect(await backfill.sweep()).toEqual({ removed: 0, kept: 6 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(6 * 50 - 20);
  });

  it('stops a walk under way at its next record', async () => {
    const w = memoryWorker();
    await w.signUp('alice');
    for (let i = 0; i < 20; i++) await write(w, 'alice', `f${i}.txt`);
    const backfill = new ProcessingBackfill(w.store, () => {}, { afterMs: 1000, perSecond: 10 });
    const stop = new AbortController();
    const walk = backfill.sweep(stop.signal);
    setTimeout(() => stop.abort(), 250);
    const result = await walk;
    expect(result.removed + result.kept).toBeLessThan(20);
  });
});
