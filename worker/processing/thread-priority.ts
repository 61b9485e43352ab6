/**
 * Processing runs at a lower CPU priority than the worker's interactive commands, so that a pod's
 * uploads being processed do not slow every tenant's requests: on Linux a nice value belongs to a thread,
 * so the processing thread lowers its own priority, and that of libvips' worker threads (which do the
 * image decoding and scaling for it, and which nothing else in a worker uses). The event loop that serves
 * commands, and Node's shared threads, keep theirs. Elsewhere (no /proc) it does nothing.
 *
 * Applied before and after each job: libvips starts and retires its threads as it needs them, and starts
 * them from libuv's pool threads, which keep the worker's priority (lowering those would slow the event
 * loop's own file and crypto work); so a thread libvips starts during a job runs at the worker's priority
 * until that job ends. Best effort.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The names (/proc/…/comm) of the threads that work for processing only. */
const PROCESSING_THREAD_NAMES = new Set(['libvips worker']);

function lower(tid: number, nice: number): boolean {
  try {
    if (getPriority(tid) >= nice) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false; // the thread ended meanwhile, or the system refuses: priority is best effort
  }
}

/** This thread's id on Linux; undefined elsewhere. */
export function currentThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lowers the calling thread and libvips' worker threads to `nice` (0–19; 0: leaves them); never raises
 * a priority. Returns how many threads it lowered.
 */
export function lowerProcessingPriority(nice: number): number {
  if (nice <= 0) return 0;
  const self = currentThreadId();
  if (self === undefined) return 0;
  let lowered = lower(self, nice) ? 1 : 0;
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return lowered;
  }
  for (const task of tasks) {
    let name: string;
    try {
      name = readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (PROCESSING_THREAD_NAMES.has(name) && lower(Number(task), nice)) lowered++;
  }
  return lowered;
}
