/**
 * PeriodicSweep: one sweep at a time, its count in the metric and in the log under the name it has; with
 * turns, one sweep per deployment, and a sweep whose turn was lost told to stop.
 */
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PeriodicSweep } from '../../worker/periodic-sweep.ts';
import { MemoryObjectStore } from '../../worker/storage/memory-store.ts';
import { SweepTurns, sweepTurnKey } from '../../worker/sweep-turns.ts';

function recordingLogger() {
  const lines: { fields: object; msg: string }[] = [];
  const log = (fields: object | string, msg?: string) =>
    lines.push(typeof fields === 'string' ? { fields: {}, msg: fields } : { fields, msg: msg ?? '' });
  return { lines, logger: { info: log, warn: log, debug: log, error: log } as never };
}

describe('PeriodicSweep', () => {
  it('counts what a sweep did and logs it under its own name; a second call while one runs joins it', async () => {
    const { lines, logger } = recordingLogger();
    const counter = new Counter({ name: 'swept_total', help: 'test', registers: [new Registry()] });
    let runs = 0;
    const sweep = new PeriodicSweep({
      name: 'processing backfill',
      sweep: async () => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return { removed: 3, kept: 7 };
      },
      everyMs: 0,
      logger,
      counter,
      countsAs: 'requeued',
    });
    await Promise.all([sweep.sweepNow(), sweep.sweepNow()]);
    expect(runs).toBe(1);
    expect((await counter.get()).values[0]?.value).toBe(3);
    expect(lines).toEqual([{ fields: { requeued: 3, kept: 7 }, msg: 'processing backfill: done' }]);
  });

  it('says removed by default, and logs a failed sweep instead of throwing', async () => {
    const { lines, logger } = recordingLogger();
    const ok = new PeriodicSweep({
      name: 'blob sweep',
      sweep: async () => ({ removed: 1, kept: 0 }),
      everyMs: 0,
      logger,
    });
    await ok.sweepNow();
    const failing = new PeriodicSweep({
      name: 'upload sweep',
      sweep: async () => {
        throw new Error('store away');
      },
      everyMs: 0,
      logger,
    });
    await failing.sweepNow();
    expect(lines).toEqual([
      { fields: { removed: 1, kept: 0 }, msg: 'blob sweep: done' },
      { fields: { err: 'store away' }, msg: 'upload sweep failed' },
    ]);
  });

  it('with turns, sweeps once for the whole deployment: the other workers find the turn taken or not due', async () => {
    const store = new MemoryObjectStore();
    const { logger } = recordingLogger();
    let runs = 0;
    const workers = ['a', 'b', 'c'].map(
      (holder) =>
        new PeriodicSweep({
          name: 'blob sweep',
          sweep: async () => {
            runs++;
            await new Promise((resolve) => setTimeout(resolve, 20));
            return { removed: 0, kept: 1 };
          },
          everyMs: 3_600_000,
          logger,
          turns: new SweepTurns(store, 'blob-sweep', { everyMs: 3_600_000, holder }),
        }),
    );
    await Promise.all(workers.map((w) => w.sweepNow()));
    // And again, as every worker checks now and then: the last sweep ended a moment ago.
    await Promise.all(workers.map((w) => w.sweepNow()));
    expect(runs).toBe(1);
  });

  it('tells a sweep to stop when another worker took its turn over', async () => {
    const store = new MemoryObjectStore();
    const { lines, logger } = recordingLogger();
    let stoppedEarly = false;
    const sweep = new PeriodicSweep({
      name: 'processing backfill',
      sweep: async (signal) => {
        // Another worker takes the turn over (as after this one stalled past its lease).
        const key = sweepTurnKey('processing-backfill');
        const current = await store.get(key);
        await store.put(key, Buffer.from(JSON.stringify({ holder: 'other', startedAt: 0, leaseUntil: 0 })), {
          ifMatch: current?.etag ?? '',
        });
        await new Promise<void>((resolve) => {
          const giveUp = setTimeout(resolve, 2000);
          signal.addEventListener('abort', () => {
            stoppedEarly = true;
            clearTimeout(giveUp);
            resolve();
          });
        });
        return { removed: 0, kept: 1 };
      },
      everyMs: 60_000,
      logger,
      turns: new SweepTurns(store, 'processing-backfill', { everyMs: 60_000, leaseMs: 30 }),
    });
    await sweep.sweepNow();
    expect(stoppedEarly).toBe(true);
    expect(lines.map((l) => l.msg)).toContain(
      'processing backfill: another worker took the turn over; stopping',
    );
    // The loser left the new holder's record alone.
    const record = JSON.parse(
      (await store.get(sweepTurnKey('processing-backfill')))?.body.toString() ?? '{}',
    );
    expect(record.holder).toBe('other');
  });

  it('stops a sweep under way when the worker stops', async () => {
    const store = new MemoryObjectStore();
    const { logger } = recordingLogger();
    let aborted = false;
    const sweep = new PeriodicSweep({
      name: 'processing backfill',
      sweep: (signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve({ removed: 0, kept: 0 });
          });
        }),
      everyMs: 60_000,
      logger,
      turns: new SweepTurns(store, 'processing-backfill', { everyMs: 60_000 }),
    });
    const running = sweep.sweepNow();
    await new Promise((resolve) => setTimeout(resolve, 20));
    sweep.stop();
    await running;
    expect(aborted).toBe(true);
    // A sweep cut short is not a completed one: the next worker to ask sweeps at once.
    expect(await new SweepTurns(store, 'processing-backfill', { everyMs: 60_000 }).take()).toBeDefined();
  });
});
