/**
 * SweepTurns: the deployment's workers take turns at a whole-store sweep through a record in the store,
 * taken, renewed and ended with conditional writes: one holder at a time, the next sweep `everyMs` after
 * the last one ended, an abandoned turn (its holder died) taken over once its lease passed.
 */
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../worker/storage/memory-store.ts';
import { SweepTurns, sweepTurnKey } from '../../worker/sweep-turns.ts';

function setup(options: { everyMs?: number; leaseMs?: number } = {}) {
  const store = new MemoryObjectStore();
  let now = 1_000_000;
  const clock = () => now;
  const worker = (holder: string) =>
    new SweepTurns(store, 'blob-sweep', {
      everyMs: options.everyMs ?? 60_000,
      leaseMs: options.leaseMs ?? 30_000,
      holder,
      clock,
    });
  const record = async () =>
    JSON.parse((await store.get(sweepTurnKey('blob-sweep')))?.body.toString() ?? 'null');
  return { store, worker, record, advance: (ms: number) => (now += ms), now: () => now };
}

describe('SweepTurns', () => {
  it('gives the turn to one worker; the others sweep nothing while it holds it', async () => {
    const t = setup();
    const a = t.worker('a');
    const b = t.worker('b');
    const turn = await a.take();
    expect(turn).toBeDefined();
    expect(await b.take()).toBeUndefined();
    expect(await a.take()).toBeUndefined(); // not twice by the same worker either
    expect(await t.record()).toEqual({ holder: 'a', startedAt: t.now(), leaseUntil: t.now() + 30_000 });
  });

  it('makes the next sweep due everyMs after the last one ended, for whoever asks first', async () => {
    const t = setup({ everyMs: 60_000 });
    const a = t.worker('a');
    const b = t.worker('b');
    const turn = await a.take();
    t.advance(5_000);
    await turn?.end(true);
    expect((await t.record()).finishedAt).toBe(t.now());
    t.advance(59_999);
    expect(await b.take()).toBeUndefined();
    t.advance(1);
    const next = await b.take();
    expect(next).toBeDefined();
    expect((await t.record()).holder).toBe('b');
  });

  it('gives a failed sweep back at once', async () => {
    const t = setup();
    const turn = await t.worker('a').take();
    await turn?.end(false);
    expect(await t.worker('b').take()).toBeDefined();
  });

  it('lets another worker take over a turn whose holder stopped renewing it; the old holder learns it lost', async () => {
    const t = setup({ leaseMs: 30_000 });
    const a = t.worker('a');
    const b = t.worker('b');
    const turn = await a.take();
    t.advance(10_000);
    expect(await turn?.renew()).toBe(true);
    t.advance(29_999); // the lease renewed at 10 s runs to 40 s
    expect(await b.take()).toBeUndefined();
    t.advance(1);
    const taken = await b.take();
    expect(taken).toBeDefined();
    expect(await turn?.renew()).toBe(false);
    await turn?.end(true); // a lost turn ends without touching the new holder's record
    expect(await t.record()).toMatchObject({ holder: 'b' });
    expect((await t.record()).finishedAt).toBeUndefined();
  });

  it('gives a turn to exactly one of many workers asking at once', async () => {
    const t = setup();
    const workers = Array.from({ length: 10 }, (_, i) => t.worker(`w${i}`));
    const turns = await Promise.all(workers.map((w) => w.take()));
    expect(turns.filter((turn) => turn !== undefined)).toHaveLength(1);
  });

  it('replaces a record that is not a turn (conditionally, like any other)', async () => {
    const t = setup();
    await t.store.put(sweepTurnKey('blob-sweep'), Buffer.from('not json'));
    expect(await t.worker('a').take()).toBeDefined();
    expect((await t.record()).holder).toBe('a');
  });

  it('refuses a kind that would not make a plain key', () => {
    expect(() => new SweepTurns(new MemoryObjectStore(), '../x', { everyMs: 1 })).toThrow(/lower-case/);
  });
});
