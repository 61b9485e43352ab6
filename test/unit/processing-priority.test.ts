/**
 * Processing runs below the worker's own priority (Linux, per thread): the sandbox's thread and libvips'
 * worker threads get the nice value asked for, and the thread that serves commands keeps its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultLimits } from '../../worker/processing/processing-limits.ts';
import { ProcessingSandbox } from '../../worker/processing/processing-sandbox.ts';
import { currentThreadId, lowerProcessingPriority } from '../../worker/processing/thread-priority.ts';
import { makeImage, makePdf } from '../helpers/processing-fixtures.ts';

interface ThreadNice {
  tid: number;
  name: string;
  nice: number;
}

function threads(): ThreadNice[] {
  return readdirSync('/proc/self/task').flatMap((task) => {
    try {
      const tid = Number(task);
      return [
        { tid, name: readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim(), nice: getPriority(tid) },
      ];
    } catch {
      return []; // ended meanwhile
    }
  });
}

const sandboxes: ProcessingSandbox[] = [];
afterAll(async () => {
  await Promise.all(sandboxes.map((s) => s.close()));
});

async function processBoth(nice: number | undefined) {
  const sandbox = new ProcessingSandbox(defaultLimits, nice === undefined ? {} : { nice });
  sandboxes.push(sandbox);
  const image = await makeImage('jpeg', 1600, 1200);
  await sandbox.run({ bytes: image, kind: 'image', previews: true, text: false });
  const pdf = await makePdf(1, { text: () => ['a page'] });
  await sandbox.run({ bytes: pdf, kind: 'pdf', previews: true, text: true });
}

describe.runIf(process.platform === 'linux')('the processing threads’ priority', () => {
  // In this order: a nice value can be lowered, never raised back.
  // Test files share their process (the unit project does not isolate them): threads an earlier file
  // lowered may still be there, so only threads lowered since the test began count.
  const loweredBefore = () =>
    new Set(
      threads()
        .filter((t) => t.nice !== 0)
        .map((t) => t.tid),
    );

  it('is the worker’s own by default', async () => {
    const before = loweredBefore();
    await processBoth(undefined);
    expect(threads().filter((t) => t.nice !== 0 && !before.has(t.tid))).toEqual([]);
  });

  it('is lowered to the nice value asked for: the sandbox thread and libvips, not this thread', async () => {
    const before = loweredBefore();
    await processBoth(10);
    const all = threads();
    const vips = all.filter((t) => t.name === 'libvips worker');
    expect(vips.length).toBeGreaterThan(0);
    expect(vips.every((t) => t.nice === 10)).toBe(true);
    // The sandbox's thread: one more lowered thread beside libvips'.
    expect(
      all.filter((t) => t.name !== 'libvips worker' && t.nice === 10 && !before.has(t.tid)),
    ).toHaveLength(1);
    expect(getPriority(process.pid)).toBe(0);
    expect(getPriority(currentThreadId())).toBe(0);
  });

  it('never raises a priority, and does nothing at 0', () => {
    expect(lowerProcessingPriority(0)).toBe(0);
    expect(lowerProcessingPriority(5)).toBe(1); // this thread only: libvips' are at 10 already
    expect(getPriority(currentThreadId())).toBe(5);
    expect(
      threads()
        .filter((t) => t.name === 'libvips worker')
        .every((t) => t.nice === 10),
    ).toBe(true);
  });
});
