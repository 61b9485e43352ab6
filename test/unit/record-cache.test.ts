/**
 * RecordCache (worker/files/record-cache.ts): a pod's home remembers file records, used only for an
 * exclusive command of the current epoch and the same account incarnation; a read that raced a local
 * write never leaves the older version behind; memory is bounded.
 */
import { describe, expect, it } from 'vitest';
import type { FileRecord } from '../../worker/files/file-record.ts';
import { RecordCache } from '../../worker/files/record-cache.ts';

interface CachedRecord {
  record: FileRecord;
  docEtag: string;
}
const size = (value: CachedRecord) => value.record.inlineBytes?.length ?? 0;

const at = (epoch: number, exclusive = true) => ({ run: 1, epoch, exclusive });
const record = (path: string, text: string, docEtag = `"${text}"`): CachedRecord => ({
  record: { path, size: text.length, inlineBytes: Buffer.from(text) } as unknown as FileRecord,
  docEtag,
});
const INC = 'incarnation-1';

/** Admits `placement` and fills `path` as a read under it would. */
function readInto(cache: RecordCache, placement: ReturnType<typeof at>, path: string, value: CachedRecord) {
  cache.admit('ann', placement);
  cache.fill(cache.ticket('ann', placement), path, value, INC, size(value));
}

describe('RecordCache', () => {
  it('answers an exclusive command of the same epoch from memory', () => {
    const cache = new RecordCache(1 << 20);
    readInto(cache, at(1), 'a.txt', record('a.txt', 'one'));
    expect(cache.get<CachedRecord>('ann', 'a.txt', at(1), INC)?.docEtag).toBe('"one"');
    expect(cache.get<CachedRecord>('ann', 'b.txt', at(1), INC)).toBeUndefined();
    expect(cache.get<CachedRecord>('bob', 'a.txt', at(1), INC)).toBeUndefined();
  });

  it('never answers a command that is not exclusive, nor remembers what it read', () => {
    const cache = new RecordCache(1 << 20);
    readInto(cache, at(1), 'a.txt', record('a.txt', 'one'));
    expect(cache.get<CachedRecord>('ann', 'a.txt', at(1, false), INC)).toBeUndefined();
    expect(cache.ticket('ann', at(1, false))).toBeUndefined();
    expect(cache.ticket('ann', undefined)).toBeUndefined();
  });

  it('forgets the pod when a command arrives with a new epoch, even one that is not exclusive', () => {
    const cache = new RecordCache(1 << 20);
    readInto(cache, at(1), 'a.txt', record('a.txt', 'one'));
    cache.admit('ann', at(2, false));
    cache.admit('ann', at(2));
    expect(cache.get<CachedRecord>('ann', 'a.txt', at(2), INC)).toBeUndefined();
    // A command of the old epoch still running cannot use or fill it either.
    expect(cache.get<CachedRecord>('ann', 'a.txt', at(1), INC)).toBeUndefined();
    expect(cache.ticket('ann', at(1))).toBeUndefined();
  });

  it('drops a fill whose read began under an epoch that has since changed', () => {
    const cache = new RecordCache(1 << 20);
    cache.admit('ann', at(1));
    const ticket = cache.ticket('ann', at(1));
    cache.admit('ann', at(2)); // something elsewhere changed the pod meanwhile
    cache.fill(ticket, 'a.txt', record('a.txt', 'old'), INC, size(record('a.txt', 'old')));
    expect(cache.get<CachedRecord>('ann', 'a.txt', at(2), INC)).toBeUndefined();
  });

  it('drops a fill that raced a write here: the read began before the write ended', () => {
    const cache = new RecordCache(1 << 20);
    cache.admit('ann', at(1));
    const ticket = cache.ticket('ann', at(1)); // a read begins
    cache.forget('ann', 'other.txt'); // a write of the pod begins
    cache.forget('ann', 'other.txt'); // … and ends
    cache.fill(ticket, 'a.txt', record('a.txt', 'maybe-old'), INC, size(record('a.txt', 'maybe-old')));
    expect(cache.get<CachedRecord>('ann', 'a.txt', at(1), INC)).toBeUndefined();
    // A read that begins after the write is remembered.
    cache.fill(
      cache.ticket('ann', at(1)),
      'a.txt',
      record('a.txt', 'new'),
      INC,
      size(record('a.txt', 'new')),
    );
    expect(cache.get<CachedRecord>('ann', 'a.txt', at(1), INC)?.docEtag).toBe('"new"');
  });

  it('forgets a record that is written here', () => {
    const cache = new RecordCache(1 << 20);
    readInto(cache, at(1), 'a.txt', record('a.txt', 'one'));
    cache.forget('ann', 'a.txt');
    expect(cache.get<CachedRecord>('ann', 'a.txt', at(1), INC)).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });

  it('uses a record only for the account incarnation it was read under (a new account of the name gets nothing)', () => {
    const cache = new RecordCache(1 << 20);
    readInto(cache, at(1), 'a.txt', record('a.txt', 'one'));
    expect(cache.get<CachedRecord>('ann', 'a.txt', at(1), 'incarnation-2')).toBeUndefined();
  });

  it('a new broker run is a new epoch, whatever the numbers', () => {
    const cache = new RecordCache(1 << 20);
    readInto(cache, at(1), 'a.txt', record('a.txt', 'one'));
    const otherRun = { run: 2, epoch: 1, exclusive: true };
    cache.admit('ann', otherRun);
    expect(cache.get<CachedRecord>('ann', 'a.txt', otherRun, INC)).toBeUndefined();
  });

  it('stays within its bytes, dropping the least recently used first, and keeps no record too large', () => {
    const cache = new RecordCache(128 * 1024);
    cache.admit('ann', at(1));
    const big = 'x'.repeat(3000);
    for (let i = 0; i < 40; i++)
      cache.fill(cache.ticket('ann', at(1)), `f${i}`, record(`f${i}`, big), INC, size(record(`f${i}`, big)));
    expect(cache.bytes).toBeLessThanOrEqual(128 * 1024);
    expect(cache.get<CachedRecord>('ann', 'f39', at(1), INC)).toBeDefined();
    expect(cache.get<CachedRecord>('ann', 'f0', at(1), INC)).toBeUndefined();
    cache.fill(
      cache.ticket('ann', at(1)),
      'huge',
      record('huge', 'y'.repeat(8 * 1024)),
      INC,
      size(record('huge', 'y'.repeat(8 * 1024))),
    );
    expect(cache.get<CachedRecord>('ann', 'huge', at(1), INC)).toBeUndefined();
  });

  it("frees an old epoch's records when the new one begins", () => {
    const cache = new RecordCache(1 << 20);
    readInto(cache, at(1), 'a.txt', record('a.txt', 'one'));
    expect(cache.bytes).toBeGreaterThan(0);
    cache.admit('ann', at(2));
    expect(cache.bytes).toBe(0);
  });

  it('lets one pod hold at most an eighth of the memory: a pod that reads more starts over, the others keep theirs', () => {
    const cache = new RecordCache(256 * 1024);
    cache.admit('bob', at(1));
    cache.fill(
      cache.ticket('bob', at(1)),
      'kept.txt',
      record('kept.txt', 'bob'),
      INC,
      size(record('kept.txt', 'bob')),
    );
    cache.admit('ann', at(1));
    const page = 'x'.repeat(4000);
    for (let i = 0; i < 200; i++)
      cache.fill(
        cache.ticket('ann', at(1)),
        `scan${i}`,
        record(`scan${i}`, page),
        INC,
        size(record(`scan${i}`, page)),
      );
    expect(cache.bytes).toBeLessThanOrEqual((256 * 1024) / 8 + 1024);
    expect(cache.get<CachedRecord>('bob', 'kept.txt', at(1), INC)?.docEtag).toBe('"bob"');
    expect(cache.get<CachedRecord>('ann', 'scan199', at(1), INC)).toBeDefined();
  });

  it('remembers at most maxPods pods: a forgotten pod has nothing usable', () => {
    const cache = new RecordCache(1 << 20, 2);
    readInto(cache, at(1), 'a.txt', record('a.txt', 'one'));
    cache.admit('bob', at(1));
    cache.admit('cid', at(1));
    cache.admit('ann', at(1)); // the same epoch numbers again, after ann was forgotten
    expect(cache.get<CachedRecord>('ann', 'a.txt', at(1), INC)).toBeUndefined();
  });
});
