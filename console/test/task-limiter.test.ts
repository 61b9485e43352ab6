import { describe, expect, it } from 'vitest';
import { TaskLimiter } from '../src/task-limiter.ts';

/** A task that runs until its `finish` is called. */
function gate() {
  let finish!: (value: string) => void;
  let started = false;
  const promise = new Promise<string>((resolve) => {
    finish = resolve;
  });
  return {
    task: () => {
      started = true;
      return promise;
    },
    finish: (value: string) => finish(value),
    get started() {
      return started;
    },
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('at most a few thumbnails asked for at once', () => {
  it('runs at most max tasks, the next one as soon as one ends, in order', async () => {
    const limiter = new TaskLimiter(2);
    const gates = [gate(), gate(), gate(), gate()];
    const results = gates.map((g) => limiter.run(g.task));
    await tick();
    expect(gates.map((g) => g.started)).toEqual([true, true, false, false]);
    expect([limiter.running, limiter.waiting]).toEqual([2, 2]);
    gates[1]?.finish('b');
    await expect(results[1]).resolves.toBe('b');
    await tick();
    expect(gates.map((g) => g.started)).toEqual([true, true, true, false]);
    gates[0]?.finish('a');
    gates[2]?.finish('c');
    await tick();
    expect(gates[3]?.started).toBe(true);
    gates[3]?.finish('d');
    await expect(Promise.all(results)).resolves.toEqual(['a', 'b', 'c', 'd']);
    expect([limiter.running, limiter.waiting]).toEqual([0, 0]);
  });

  it('a failing task frees its place too', async () => {
    const limiter = new TaskLimiter(1);
    const failed = limiter.run(() => Promise.reject(new Error('refused')));
    const next = gate();
    const after = limiter.run(next.task);
    await expect(failed).rejects.toThrow('refused');
    await tick();
    expect(next.started).toBe(true);
    next.finish('ok');
    await expect(after).resolves.toBe('ok');
  });

  it('a waiting task whose row went away never runs, and takes no place', async () => {
    const limiter = new TaskLimiter(1);
    const first = gate();
    const running = limiter.run(first.task);
    const gone = gate();
    const controller = new AbortController();
    const cancelled = limiter.run(gone.task, controller.signal);
    const last = gate();
    const kept = limiter.run(last.task);
    controller.abort();
    await expect(cancelled).rejects.toMatchObject({ name: 'AbortError' });
    expect(limiter.waiting).toBe(1);
    first.finish('1');
    await running;
    await tick();
    expect(gone.started).toBe(false);
    expect(last.started).toBe(true);
    last.finish('3');
    await expect(kept).resolves.toBe('3');
    // Already aborted: refused at once.
    await expect(limiter.run(gate().task, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses a limit that is not a whole number of 1 or more', () => {
    for (const max of [0, -1, 1.5, Number.NaN])
      expect(() => new TaskLimiter(max), String(max)).toThrow(RangeError);
  });
});
