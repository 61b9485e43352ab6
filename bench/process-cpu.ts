/**
 * The CPU the processes of a stack use, from /proc (Linux): to count what an operation costs each of
 * them (bench/op-cost.ts), and to wait until background work (processing jobs, events, the removal of
 * old versions) is done before a measurement starts, so that no run is charged with the one before it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** User + system CPU time of a process so far, in ms (0 once it has exited). */
export function cpuMs(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  const fields = (stat.split(') ')[1] ?? '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** The pid listening on a loopback TCP port (MinIO and nats-server run under a wrapper). */
export function listenerPid(port: number): number {
  const line = execFileSync('ss', ['-ltnpH', `sport = :${port}`]).toString();
  const pid = /pid=(\d+)/.exec(line)?.[1];
  if (pid === undefined) throw new Error(`nothing listens on port ${port}`);
  return Number(pid);
}

export interface QuietOptions {
  /** A process that used more CPU than this in a second is busy. Default 30 ms. */
  busyMs?: number;
  /** Give up waiting after this long. Default 30 s. */
  maxMs?: number;
}

/**
 * Waits until no process of `pids` (asked again each second: the set may change) used more than
 * `busyMs` of CPU for a whole second, at most `maxMs`. Resolves to the time waited and whether the
 * processes did become quiet.
 */
export async function untilQuiet(
  pids: () => number[],
  options: QuietOptions = {},
): Promise<{ waitedMs: number; quiet: boolean }> {
  const busyMs = options.busyMs ?? 30;
  const maxMs = options.maxMs ?? 30_000;
  const started = performance.now();
  const sample = () => new Map(pids().map((pid) => [pid, cpuMs(pid)]));
  let last = sample();
  while (performance.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = sample();
    const busy = [...now].some(([pid, ms]) => ms - (last.get(pid) ?? ms) > busyMs);
    if (!busy) return { waitedMs: Math.round(performance.now() - started), quiet: true };
    last = now;
  }
  return { waitedMs: Math.round(performance.now() - started), quiet: false };
}
