/** PeriodicSweep: one sweep at a time, its count in the metric and in the log under the name it has. */
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PeriodicSweep } from '../../worker/periodic-sweep.ts';

function recordingLogger() {
  const lines: { fields: object; msg: string }[] = [];
  const log = (fields: object, msg: string) => lines.push({ fields, msg });
  return { lines, logger: { info: log, warn: log, debug: log, error: log } as never };
}

describe('PeriodicSweep', () => {
  it('counts what a sweep did and logs it under its own name; a second call while one runs joins it', async () => {
    const { lines, logger } = recordingLogger();
    const counter = new Counter({ name: 'swept_total', help: 'test', registers: [new Registry()] });
    let runs = 0;
    const sweep = new PeriodicSweep(
      'processing backfill',
      async () => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return { removed: 3, kept: 7 };
      },
      0,
      logger,
      counter,
      'requeued',
    );
    await Promise.all([sweep.sweepNow(), sweep.sweepNow()]);
    expect(runs).toBe(1);
    expect((await counter.get()).values[0]?.value).toBe(3);
    expect(lines).toEqual([{ fields: { requeued: 3, kept: 7 }, msg: 'processing backfill: done' }]);
  });

  it('says removed by default, and logs a failed sweep instead of throwing', async () => {
    const { lines, logger } = recordingLogger();
    const ok = new PeriodicSweep('blob sweep', async () => ({ removed: 1, kept: 0 }), 0, logger);
    await ok.sweepNow();
    const failing = new PeriodicSweep(
      'upload sweep',
      async () => {
        throw new Error('store away');
      },
      0,
      logger,
    );
    await failing.sweepNow();
    expect(lines).toEqual([
      { fields: { removed: 1, kept: 0 }, msg: 'blob sweep: done' },
      { fields: { err: 'store away' }, msg: 'upload sweep failed' },
    ]);
  });
});
