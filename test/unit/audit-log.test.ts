import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../worker/access/audit-log.ts';
import { RefusalCoalescer } from '../../worker/access/refusal-coalescer.ts';
import { FsObjectStore } from '../../worker/storage/fs-store.ts';
import { profileKey } from '../../worker/users/users-service.ts';

const refused = (path: string, requestId = path) => ({
  action: 'read',
  outcome: 'not_found',
  path,
  requestId,
});

describe('RefusalCoalescer', () => {
  const options = { windowMs: 60_000, burst: 3, maxWindows: 100 };

  it('admits the burst of a window one by one and counts the rest into one summary per action and outcome', () => {
    const coalescer = new RefusalCoalescer(options);
    const admitted = Array.from({ length: 500 }, (_, i) =>
      coalescer.admit('patient', 'stranger', refused(`f${i}`), 1000 + i),
    );
    expect(admitted.filter(Boolean)).toHaveLength(3);
    expect(admitted.slice(0, 3)).toEqual([true, true, true]);
    for (let i = 0; i < 20; i++)
      coalescer.admit('patient', 'stranger', { action: 'write', outcome: 'forbidden', path: 'w' }, 2000 + i);
    expect(coalescer.due(1000 + 59_999)).toEqual([]); // the window is still open
    const summaries = coalescer.due(1000 + 60_000);
    expect(summaries).toEqual([
      {
        owner: 'patient',
        actor: 'stranger',
        action: 'read',
        outcome: 'not_found',
        path: 'f499',
        requestId: 'f499',
        count: 497,
        firstTime: 1003,
        lastTime: 1499,
      },
      {
        owner: 'patient',
        actor: 'stranger',
        action: 'write',
        outcome: 'forbidden',
        path: 'w',
        count: 20,
        firstTime: 2000,
        lastTime: 2019,
      },
    ]);
    expect(coalescer.due(1_000_000)).toEqual([]);
    expect(coalescer.openWindows).toBe(0);
  });

  it('keeps windows per pod and per caller, so one caller’s flood leaves another’s refusals recorded', () => {
    const coalescer = new RefusalCoalescer(options);
    for (let i = 0; i < 50; i++) coalescer.admit('patient', 'stranger', refused('x'), i);
    expect(coalescer.admit('patient', 'insurer', refused('y'), 60)).toBe(true);
    expect(coalescer.admit('other-pod', 'stranger', refused('y'), 60)).toBe(true);
  });

  it('opens a fresh burst when a window ends, and closes it on the next refusal even without a tick', () => {
    const coalescer = new RefusalCoalescer(options);
    for (let i = 0; i < 5; i++) coalescer.admit('patient', 'stranger', refused('x'), 0);
    expect(coalescer.admit('patient', 'stranger', refused('x'), 60_000)).toBe(true);
    expect(coalescer.due(60_001)).toEqual([expect.objectContaining({ count: 2 })]);
  });

  it('closes the oldest window early when too many are open, and drains every one at shutdown', () => {
    const coalescer = new RefusalCoalescer({ ...options, burst: 0, maxWindows: 2 });
    coalescer.admit('a', 'stranger', refused('x'), 0);
    coalescer.admit('b', 'stranger', refused('x'), 0);
    coalescer.admit('c', 'stranger', refused('x'), 0);
    expect(coalescer.openWindows).toBe(2);
    expect(coalescer.due(1).map((s) => s.owner)).toEqual(['a']);
    expect(
      coalescer
        .drain()
        .map((s) => s.owner)
        .sort(),
    ).toEqual(['b', 'c']);
    expect(coalescer.openWindows).toBe(0);
  });
});

describe('AuditLog', () => {
  let dir: string;
  let store: FsObjectStore;
  let now: number;
  let log: AuditLog;
  const clock = () => new Date(now);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'podstore-audit-'));
    store = new FsObjectStore(dir);
    await store.init();
    await store.put(profileKey('patient'), Buffer.from('{}'));
    now = Date.parse('2026-06-01T00:00:00Z');
    log = new AuditLog(store, { retentionDays: 30, refusedBurst: 5, refusedWindowMs: 60_000 }, clock);
  });
  afterEach(async () => {
    await log.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const stored = async () => (await store.list('users/patient/audit/', { limit: 1000 })).items.length;

  it('stores a bounded number of entries for a flood of refusals, and still says who was refused how often', async () => {
    for (let i = 0; i < 500; i++) {
      now += 10;
      await log.note('patient', { actor: 'stranger', ...refused(`medical/${i}.pdf`, `req-${i}`) });
    }
    expect(await stored()).toBe(5);
    now += 60_000;
    await log.flush();
    expect(await stored()).toBe(6);
    const { entries } = await log.list('patient');
    expect(entries[0]).toMatchObject({
      actor: 'stranger',
      action: 'read',
      outcome: 'not_found',
      count: 495,
      path: 'medical/499.pdf',
      requestId: 'req-499',
    });
    expect(entries.reduce((sum, e) => sum + (e.count ?? 1), 0)).toBe(500);
    expect(entries.slice(1).map((e) => e.path)).toEqual([4, 3, 2, 1, 0].map((i) => `medical/${i}.pdf`));
  });

  it('records every allowed access one by one', async () => {
    for (let i = 0; i < 40; i++) {
      now += 1;
      await log.note('patient', { actor: 'hospital', action: 'write', path: `r${i}`, outcome: 'allowed' });
    }
    expect(await stored()).toBe(40);
  });

  it('writes the summaries still open at shutdown', async () => {
    for (let i = 0; i < 12; i++) await log.note('patient', { actor: 'stranger', ...refused('x') });
    await log.stop();
    const { entries } = await log.list('patient');
    expect(entries.map((e) => e.count ?? 1).sort((a, b) => a - b)).toEqual([1, 1, 1, 1, 1, 7]);
  });

  it('never writes a summary into a later account that took the owner’s name meanwhile', async () => {
    let since: string | undefined = 'account-1';
    const log2 = new AuditLog(
      store,
      { retentionDays: 30, refusedBurst: 1, refusedWindowMs: 60_000 },
      clock,
      async () => since,
    );
    for (let i = 0; i < 10; i++) await log2.note('patient', { actor: 'stranger', ...refused('x') });
    expect(await stored()).toBe(1);
    since = 'account-2'; // the account was deleted and the name taken again
    now += 60_000;
    await log2.flush();
    expect(await stored()).toBe(1);
    since = undefined;
    await log2.note('patient', { actor: 'hospital', action: 'write', outcome: 'allowed' });
    expect(await stored()).toBe(1);
  });

  it('keeps no log for a pod whose owner does not exist', async () => {
    await log.note('nobody', { actor: 'stranger', action: 'read', outcome: 'allowed' });
    expect((await store.list('users/nobody/audit/')).items).toEqual([]);
  });

  it('neither lists nor keeps entries older than the retention', async () => {
    await log.record('patient', { actor: 'hospital', action: 'write', outcome: 'allowed', path: 'old' });
    now += 20 * 86_400_000;
    await log.record('patient', { actor: 'hospital', action: 'write', outcome: 'allowed', path: 'newer' });
    now += 15 * 86_400_000; // the first is 35 days old, the second 15
    expect((await log.list('patient')).entries.map((e) => e.path)).toEqual(['newer']);
    expect(await stored()).toBe(2);
    expect(await log.prune('patient')).toBe(1);
    expect(await stored()).toBe(1);
    expect((await log.list('patient')).entries.map((e) => e.path)).toEqual(['newer']);
  });

  it('prunes by itself as new entries come in', async () => {
    await log.record('patient', { actor: 'hospital', action: 'write', outcome: 'allowed', path: 'old' });
    now += 31 * 86_400_000;
    await log.record('patient', { actor: 'hospital', action: 'write', outcome: 'allowed', path: 'new' });
    await expect.poll(stored).toBe(1);
  });

  it('keeps everything with a retention of 0', async () => {
    const forever = new AuditLog(
      store,
      { retentionDays: 0, refusedBurst: 5, refusedWindowMs: 60_000 },
      clock,
    );
    await forever.record('patient', { actor: 'hospital', action: 'write', outcome: 'allowed', path: 'old' });
    now += 3650 * 86_400_000;
    await forever.record('patient', { actor: 'hospital', action: 'write', outcome: 'allowed', path: 'new' });
    expect((await forever.list('patient')).entries.map((e) => e.path)).toEqual(['new', 'old']);
    expect(await forever.prune('patient')).toBe(0);
  });
});
