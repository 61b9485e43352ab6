/**
 * Orphaned blobs: a blob noted as an intent and named by no record once the grace has passed is removed
 * by the sweep; a blob its record names is kept; a young intent (an upload still running) is left alone.
 * On the real filesystem store, with a clock the test moves.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOB_INTENTS_PREFIX, BlobIntents } from '../../worker/files/blob-intents.ts';
import {
  etagFor,
  type FileRecord,
  fileKey,
  newBlobKey,
  serializeRecord,
} from '../../worker/files/file-record.ts';
import { FsObjectStore } from '../../worker/storage/fs-store.ts';

const HOUR = 3_600_000;
let dir: string;
let store: FsObjectStore;
let now = 0;
let intents: BlobIntents;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podstore-intents-'));
  store = new FsObjectStore(dir);
  await store.init();
  now = Date.UTC(2026, 10, 30);
  intents = new BlobIntents(store, 2 * HOUR, () => now);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function storeBlob(owner: string): Promise<string> {
  const blob = newBlobKey(owner);
  await store.put(blob, Buffer.alloc(1000, 1));
  return blob;
}

async function commit(owner: string, path: string, blob: string): Promise<void> {
  const record: FileRecord = {
    path,
    size: 1000,
    contentType: 'application/octet-stream',
    sha256: 'ab'.repeat(32),
    etag: etagFor('ab'.repeat(32), 1),
    author: owner,
    createdAt: new Date(now).toISOString(),
    updatedAt: new Date(now).toISOString(),
    tags: [],
    description: '',
    revision: 1,
    blob,
  };
  await store.put(fileKey(owner, path), serializeRecord(record));
}

const exists = async (key: string) => (await store.head(key)) !== undefined;
const intentCount = async () => (await store.list(BLOB_INTENTS_PREFIX)).items.length;

describe('blob intents', () => {
  it('a dead worker’s blob (noted, stored, never named) is removed once the grace has passed', async () => {
    const blob = await storeBlob('patient');
    await intents.note({ owner: 'patient', path: 'scans/ct.bin', blob });
    now += HOUR; // an upload may still be running: nothing happens
    expect(await intents.sweep()).toEqual({ removed: 0, kept: 0 });
    expect(await exists(blob)).toBe(true);
    now += HOUR + 1;
    expect(await intents.sweep()).toEqual({ removed: 1, kept: 0 });
    expect(await exists(blob)).toBe(false);
    expect(await intentCount()).toBe(0);
  });

  it('a blob its record names is kept; only the intent goes', async () => {
    const blob = await storeBlob('patient');
    await intents.note({ owner: 'patient', path: 'scans/ct.bin', blob });
    await commit('patient', 'scans/ct.bin', blob);
    now += 3 * HOUR;
    expect(await intents.sweep()).toEqual({ removed: 0, kept: 1 });
    expect(await exists(blob)).toBe(true);
    expect(await intentCount()).toBe(0);
  });

  it('a blob replaced since (its record names another) is removed; a cleared intent costs nothing', async () => {
    const old = await storeBlob('patient');
    await intents.note({ owner: 'patient', path: 'a.bin', blob: old });
    const cleared = await intents.note({ owner: 'patient', path: 'b.bin', blob: await storeBlob('patient') });
    await intents.clear(cleared);
    await commit('patient', 'a.bin', await storeBlob('patient'));
    now += 3 * HOUR;
    expect(await intents.sweep()).toEqual({ removed: 1, kept: 0 });
    expect(await exists(old)).toBe(false);
  });

  it('a POST renamed during its commit: the rewritten intent points at the new path', async () => {
    const blob = await storeBlob('patient');
    const key = await intents.note({ owner: 'patient', path: 'inbox/report.pdf', blob });
    await intents.write(key, { owner: 'patient', path: 'inbox/report-1a2b3c4d.pdf', blob });
    await commit('patient', 'inbox/report-1a2b3c4d.pdf', blob);
    now += 3 * HOUR;
    expect(await intents.sweep()).toEqual({ removed: 0, kept: 1 });
    expect(await exists(blob)).toBe(true);
  });

  it('sweeps the oldest first, a page at a time, and stops at the first young intent', async () => {
    const blobs: string[] = [];
    for (let i = 0; i < 5; i++) {
      const blob = await storeBlob('patient');
      blobs.push(blob);
      await intents.note({ owner: 'patient', path: `f${i}.bin`, blob });
      now += 10 * 60_000;
    }
    now += 2 * HOUR - 25 * 60_000; // the first three are past the grace
    expect(await intents.sweep(2)).toEqual({ removed: 2, kept: 0 });
    expect(await intents.sweep(10)).toEqual({ removed: 1, kept: 0 });
    expect(await Promise.all(blobs.map(exists))).toEqual([false, false, false, true, true]);
  });
});
