/**
 * Peak resident memory of a process (Linux: VmHWM in /proc/<pid>/status), in MiB, and its reset
 * (writing 5 to /proc/<pid>/clear_refs), so that each phase of the benchmark has its own peak.
 */
import { readFile, writeFile } from 'node:fs/promises';

export async function peakRssMiB(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
    return Number.isFinite(kib) ? Math.round(kib / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a new peak from the current RSS; false where the kernel does not allow it. */
export async function resetPeakRss(pid: number | undefined): Promise<boolean> {
  if (pid === undefined) return false;
  try {
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
