/**
 * The bench's wait for a quiet stack (bench/process-cpu.ts): it waits while a process burns CPU, returns
 * once it stops, and gives up at its bound. Real processes, read from /proc.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cpuMs, untilQuiet } from '../../bench/process-cpu.ts';

/** A node process that spins for `ms`, then sleeps until killed. */
function burner(ms: number) {
  const child = spawn(
    process.execPath,
    ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end); setInterval(() => {}, 1000);`],
    { stdio: 'ignore' },
  );
  return {
    pid: child.pid as number,
    stop: async () => {
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

describe('untilQuiet', () => {
  it('waits while a process is busy and returns once it is quiet', async () => {
    const busy = burner(2500);
    try {
      const started = performance.now();
      const result = await untilQuiet(() => [busy.pid], { maxMs: 15_000 });
      expect(result.quiet).toBe(true);
      expect(performance.now() - started).toBeGreaterThanOrEqual(2500);
      expect(cpuMs(busy.pid)).toBeGreaterThanOrEqual(1000);
    } finally {
      await busy.stop();
    }
  }, 20_000);

  it('gives up at its bound while the process stays busy', async () => {
    const busy = burner(60_000);
    try {
      const result = await untilQuiet(() => [busy.pid], { maxMs: 2500 });
      expect(result.quiet).toBe(false);
      expect(result.waitedMs).toBeGreaterThanOrEqual(2500);
    } finally {
      await busy.stop();
    }
  }, 20_000);

  it('counts a process that has exited as quiet (0 ms)', async () => {
    const gone = burner(0);
    await gone.stop();
    expect(cpuMs(gone.pid)).toBe(0);
    expect((await untilQuiet(() => [gone.pid], { maxMs: 5000 })).quiet).toBe(true);
  });
});
